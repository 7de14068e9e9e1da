import Foundation
import NacreEngine

extension Denoiser {
    static let magic: [UInt8] = Array("NXDN".utf8)
    static let formatVersion: UInt16 = 1

    /// The denoiser block (docs/MODEL.md, "Denoiser block"): architecture, decoder identifier,
    /// provenance and per-output-channel symmetric int8 weights with f32 scales and biases,
    /// closed by a 64-bit FNV-1a checksum. Deterministic.
    public func serialized() -> [UInt8] { serialized(boundTo: decoderIdentifier) }

    /// The same block bound to another decoder: for a decoder derived from this block's own (a
    /// per-collection adaptation of it), once the block is measured to still help it.
    public func serialized(boundTo decoder: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.append(contentsOf: Self.magic)
        w.append(Self.formatVersion)
        w.append(UInt16(0))
        w.append(decoder)
        w.append(UInt16(architecture.hiddenChannels))
        w.append(UInt8(architecture.convolutions))
        w.append(UInt8(architecture.negativeSlope256))
        let infoText = Array(info.keys.sorted().map { "\($0)=\(info[$0]!)" }.joined(separator: "\n").utf8)
        w.append(UInt32(infoText.count))
        w.append(contentsOf: infoText)
        for index in convolutions.indices {
            let stored = storedForm(ofConvolution: index)
            for scale in stored.scales { w.append(scale.bitPattern) }
            for v in stored.weights { w.append(UInt8(bitPattern: v)) }
            for v in stored.biases { w.append(v.bitPattern) }
        }
        w.append(FNV1a.hash(w.bytes))
        return w.bytes
    }

    /// Replaces every weight by its stored (int8) value, so training can measure what the archive
    /// will carry.
    public func roundWeightsToStoredPrecision() throws {
        for (index, conv) in convolutions.enumerated() {
            let stored = storedForm(ofConvolution: index)
            let perOutput = conv.weight.count / stored.scales.count
            try conv.weight.setValues(stored.weights.indices.map { Float(stored.weights[$0]) * stored.scales[$0 / perOutput] })
            try conv.bias!.setValues(stored.biases)
        }
    }

    /// What the block stores for convolution `index`: per-output-channel scales, the weights as
    /// integers in −`weightLevels`…`weightLevels` (largest magnitude of each output channel maps to
    /// `weightLevels`) and the biases. Weights that cannot affect the result are stored as zero
    /// (the first convolution's inputs from the always-zero planes 13…15, and the last one's
    /// outputs 12…15, which are ignored), so they cost next to nothing after the archive's zstd.
    func storedForm(ofConvolution index: Int) -> (scales: [Float], weights: [Int8], biases: [Float]) {
        let conv = convolutions[index]
        let outputs = conv.weight.shape[0], inputs = conv.weight.shape[1], perOutput = conv.weight.count / outputs
        var weights = conv.weight.values(), biases = conv.bias!.values()
        for o in 0..<outputs {
            for i in 0..<inputs where Self.isDead(convolution: index, of: convolutions.count, output: o, input: i) {
                for k in 0..<(perOutput / inputs) { weights[o * perOutput + i * (perOutput / inputs) + k] = 0 }
            }
            if index == convolutions.count - 1 && o >= DenoiserArchitecture.imageChannels { biases[o] = 0 }
        }
        var scales: [Float] = [], integers: [Int8] = []
        integers.reserveCapacity(weights.count)
        for o in 0..<outputs {
            let row = weights[(o * perOutput)..<((o + 1) * perOutput)]
            let scale = Self.weightScale(of: row, levels: weightLevels)
            scales.append(scale)
            for v in row { integers.append(Self.quantize(v, scale: scale, levels: weightLevels)) }
        }
        return (scales, integers, biases)
    }

    /// Whether the weight from `input` to `output` of convolution `index` (of `count`) can never
    /// change the filtered image: inputs 13…15 of the first convolution are always zero, outputs
    /// 12…15 of the last are ignored.
    static func isDead(convolution index: Int, of count: Int, output: Int, input: Int) -> Bool {
        (index == 0 && input > DenoiserArchitecture.imageChannels) || (index == count - 1 && output >= DenoiserArchitecture.imageChannels)
    }

    /// Loads a block written by `serialized()`, checking everything.
    ///
    /// - Throws: `CodecError` `corruptBlock` (bad magic, checksum, length, shape or value) or
    ///   `unsupportedVersion` (a newer version or unknown flags); never traps on damaged bytes.
    public convenience init(serialized bytes: [UInt8], engine: Engine) throws {
        func corrupt(_ what: String) -> CodecError {
            CodecError(code: .corruptDenoiserBlock, message: "the denoiser block is damaged: \(what); re-train or re-export it with `nacre train-denoiser`")
        }
        guard bytes.count >= 4 + 4 + 8 + 4 + 4 + 8 else { throw corrupt("only \(bytes.count) bytes") }
        guard Array(bytes[0..<4]) == Self.magic else { throw corrupt("it does not start with \"NXDN\"") }
        let body = Array(bytes[0..<(bytes.count - 8)])
        var checksum: UInt64 = 0
        for (i, b) in bytes[(bytes.count - 8)...].enumerated() { checksum |= UInt64(b) << (8 * UInt64(i)) }
        guard checksum == FNV1a.hash(body) else { throw corrupt("checksum mismatch") }
        var r = ByteReader(body, what: "denoiser block", shortReadCode: .corruptStream)
        let architecture: DenoiserArchitecture
        let identifier: UInt64
        var info: [String: String] = [:]
        do {
            _ = try r.readBytes(4)
            let version = try r.read(UInt16.self)
            let flags = try r.read(UInt16.self)
            guard version == Self.formatVersion, flags == 0 else {
                throw CodecError(code: .unsupportedDenoiserVersion,
                    message: "the denoiser block has version \(version), flags \(flags); this build reads version \(Self.formatVersion) without flags. Update nacre, or restore without denoising")
            }
            identifier = try r.read(UInt64.self)
            architecture = DenoiserArchitecture(hiddenChannels: Int(try r.read(UInt16.self)), convolutions: Int(try r.read(UInt8.self)),
                                                negativeSlope256: Int(try r.read(UInt8.self)))
            do { try architecture.validate() } catch { throw corrupt(error.message) }
            let infoLength = Int(try r.read(UInt32.self))
            guard infoLength <= r.remaining else { throw corrupt("an info text of \(infoLength) bytes past the end") }
            for line in String(decoding: try r.readBytes(infoLength), as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1)
                info[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
        } catch let error as CodecError {
            throw error
        } catch {
            throw corrupt("truncated header")
        }
        let expected = architecture.layerChannels.reduce(0) { $0 + $1.output * (4 + $1.input * 9 + 4) }
        guard r.remaining == expected else {
            throw corrupt("\(r.remaining) bytes of weights where \(architecture) needs \(expected)")
        }
        try self.init(architecture: architecture, decoderIdentifier: identifier, engine: engine, info: info)
        var largest: Int8 = 0
        do {
            for conv in convolutions {
                let outputs = conv.weight.shape[0], perOutput = conv.weight.count / outputs
                var scales: [Float] = []
                for _ in 0..<outputs { scales.append(Float(bitPattern: try r.read(UInt32.self))) }
                guard scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw corrupt("a weight scale of \(conv.weight.name) is negative or not finite") }
                var weights = [Float](repeating: 0, count: conv.weight.count)
                for i in 0..<weights.count {
                    let integer = Int8(bitPattern: try r.read(UInt8.self))
                    guard integer != -128 else { throw corrupt("a weight of \(conv.weight.name) is −128 (outside ±127)") }
                    largest = max(largest, abs(integer))
                    weights[i] = Float(integer) * scales[i / perOutput]
                }
                var biases: [Float] = []
                for _ in 0..<outputs { biases.append(Float(bitPattern: try r.read(UInt32.self))) }
                guard biases.allSatisfy(\.isFinite) else { throw corrupt("a bias of \(conv.weight.name) is not finite") }
                try conv.weight.setValues(weights)
                try conv.bias!.setValues(biases)
            }
        } catch let error as CodecError {
            throw error
        } catch {
            throw corrupt("truncated weights")
        }
        // Each output channel's largest weight is stored as ±levels, so the largest integer is the
        // grid the block was written with; keeping it makes `serialized()` reproduce these bytes.
        weightLevels = largest > 0 ? Int(largest) : Self.maximumWeightLevels
    }

    /// Reads a denoiser block file (as written by `nacre train-denoiser`).
    public static func load(contentsOfFile path: String, engine: Engine) throws -> Denoiser {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CodecError(code: .invalidArgument, message: "cannot read denoiser \(path): \(error.localizedDescription)")
        }
        return try Denoiser(serialized: Array(data), engine: engine)
    }

    /// Finest weight grid the block can hold (symmetric int8).
    public static let maximumWeightLevels = 127

    /// Scale of a symmetric grid of `levels` steps each side: the largest magnitude maps to `levels`.
    static func weightScale(of values: ArraySlice<Float>, levels: Int) -> Float {
        (values.map { abs($0) }.max() ?? 0) / Float(levels)
    }

    static func quantize(_ value: Float, scale: Float, levels: Int) -> Int8 {
        guard scale > 0 else { return 0 }
        let limit = Float(levels)
        return Int8(max(-limit, min(limit, (value / scale).rounded())))
    }
}
