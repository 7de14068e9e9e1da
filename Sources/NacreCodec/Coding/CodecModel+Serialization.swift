import Foundation
import NacreEngine

extension CodecModel {
    static let magic: [UInt8] = Array("NXCM".utf8)
    /// Version 1: every tensor f32. Version 2: tensors carry an encoding byte; g_s's convolution
    /// weights are int8 (`DecoderPrecision.int8`). An f32 model is still written as version 1, so
    /// its bytes and identifier are what they always were.
    static let formatVersion: UInt16 = 1
    static let int8FormatVersion: UInt16 = 2
    static let encoderFlag: UInt16 = 1
    /// A mean-scale model: its decoder part holds the mean head and the encoder gains, and the
    /// mean head's input step follows the tensors.
    static let meanFlag: UInt16 = 2

    /// Tensor encodings in a version-2 file.
    enum TensorEncoding: UInt8 {
        case f32 = 0
        /// Scales (f32 × shape[0]) then values (i8 × product), see `Int8ChannelWeights`.
        case int8PerOutputChannel = 1
    }

    /// The whole model (encoder and decoder), deterministic little-endian bytes (docs/MODEL.md).
    public func serialized() -> [UInt8] { encode(includingEncoder: canEncode) }

    /// The decoder's part only (no g_a, h_a or encoder gains): what an archive carries.
    public func decoderBytes() -> [UInt8] { encode(includingEncoder: false) }

    private func encode(includingEncoder: Bool) -> [UInt8] {
        var w = ByteWriter()
        w.append(contentsOf: Self.magic)
        let version = decoderPrecision == .int8 ? Self.int8FormatVersion : Self.formatVersion
        w.append(version)
        w.append((includingEncoder ? Self.encoderFlag : 0) | (configuration.predictsMeans ? Self.meanFlag : 0))
        w.append(UInt16(configuration.hiddenChannels))
        w.append(UInt16(configuration.latentChannels))
        w.append(UInt16(configuration.levelCount))
        for lambda in configuration.lambdas { w.append(lambda.bitPattern) }
        let infoText = info.keys.sorted().map { "\($0)=\(info[$0]!)" }.joined(separator: "\n")
        appendBlock(Array(infoText.utf8), to: &w)
        let tensors = includingEncoder ? decoderParameters + encoderParameters : decoderParameters
        let int8Synthesis = version == Self.int8FormatVersion ? currentInt8Synthesis() : [:]
        w.append(UInt32(tensors.count))
        for p in tensors {
            let name = Array(p.name.utf8)
            w.append(UInt16(name.count))
            w.append(contentsOf: name)
            w.append(UInt8(p.shape.count))
            for d in p.shape { w.append(UInt32(d)) }
            if version == Self.formatVersion {
                for i in 0..<p.count { w.append(p.value[i].bitPattern) }
            } else if let q = int8Synthesis[p.name] {
                w.append(TensorEncoding.int8PerOutputChannel.rawValue)
                for scale in q.scales { w.append(scale.bitPattern) }
                w.bytes += q.values.map { UInt8(bitPattern: $0) }
            } else {
                w.append(TensorEncoding.f32.rawValue)
                for i in 0..<p.count { w.append(p.value[i].bitPattern) }
            }
        }
        if version == Self.int8FormatVersion {
            w.append(UInt8(int8ActivationScales.count))
            for scale in int8ActivationScales { w.append(scale.bitPattern) }
        }
        if let meanHeadInputStep { w.append(meanHeadInputStep.bitPattern) }
        appendBlock(hyperSynthesis.serialized(), to: &w)
        appendBlock(gaussianTables.serialized(), to: &w)
        appendBlock(factorizedTables.serialized(), to: &w)
        for o in indexOffsets { w.append(o) }
        w.append(FNV1a.hash(w.bytes))
        return w.bytes
    }

    private func appendBlock(_ bytes: [UInt8], to w: inout ByteWriter) {
        w.append(UInt32(bytes.count))
        w.append(contentsOf: bytes)
    }

    /// Loads a model written by `serialized()` or `decoderBytes()`, validating everything.
    ///
    /// - Throws: `CodecError.incompatibleModel` for a wrong magic, version, checksum, shape,
    ///   non-finite value or inconsistent part (never traps on a corrupt file).
    public static func load(_ bytes: [UInt8], engine: Engine) throws -> CodecModel {
        func corrupt(_ what: String) -> CodecError {
            CodecError(code: .incompatibleModel, message: "the model file is corrupt or unsupported: \(what); re-export it with `nacre export-model`")
        }
        guard bytes.count >= 8 + 4 + 6 else { throw corrupt("only \(bytes.count) bytes") }
        let body = Array(bytes[0..<(bytes.count - 8)])
        var trailer = ByteReader(Array(bytes[(bytes.count - 8)...]), what: "model checksum", shortReadCode: .corruptStream)
        guard try trailer.read(UInt64.self) == FNV1a.hash(body) else { throw corrupt("checksum mismatch") }
        do {
            var r = ByteReader(body, what: "model", shortReadCode: .corruptStream)
            guard try r.readBytes(4) == magic else { throw corrupt("it does not start with \"NXCM\"") }
            let version = try r.read(UInt16.self)
            guard version == formatVersion || version == int8FormatVersion else {
                throw corrupt("format version \(version) (this build reads \(formatVersion) and \(int8FormatVersion))")
            }
            let flags = try r.read(UInt16.self)
            guard flags & ~(encoderFlag | meanFlag) == 0 else { throw corrupt("unknown flags \(flags)") }
            let n = Int(try r.read(UInt16.self)), m = Int(try r.read(UInt16.self)), levels = Int(try r.read(UInt16.self))
            guard (1...1024).contains(n), (1...1024).contains(m), (1...64).contains(levels) else {
                throw corrupt("N=\(n), M=\(m), \(levels) levels")
            }
            var lambdas: [Double] = []
            for _ in 0..<levels { lambdas.append(Double(bitPattern: try r.read(UInt64.self))) }
            guard lambdas.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw corrupt("a λ is not a positive number") }
            let configuration = HyperpriorConfiguration(hiddenChannels: n, latentChannels: m, lambdas: lambdas,
                                                        predictsMeans: flags & meanFlag != 0)
            let infoText = String(decoding: try readBlock(&r), as: UTF8.self)
            var info: [String: String] = [:]
            for line in infoText.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1)
                info[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            let network = try HyperpriorModel(configuration: configuration, engine: engine)
            let includesEncoder = flags & encoderFlag != 0
            let expected = decoderParameters(of: network) + (includesEncoder ? encoderParameters(of: network) : [])
            let int8Names = version == int8FormatVersion ? Set(int8StoredWeights(of: network).map(\.name)) : []
            let convolutions = synthesisConvolutionWeights(of: network).count
            var int8Synthesis: [String: Int8ChannelWeights] = [:]
            let count = Int(try r.read(UInt32.self))
            guard count == expected.count else { throw corrupt("\(count) tensors where \(expected.count) are expected") }
            for p in expected {
                let nameLength = Int(try r.read(UInt16.self))
                let name = String(decoding: try r.readBytes(nameLength), as: UTF8.self)
                let rank = Int(try r.read(UInt8.self))
                var shape: [Int] = []
                for _ in 0..<min(rank, 8) { shape.append(Int(try r.read(UInt32.self))) }
                guard name == p.name, shape == p.shape else {
                    throw corrupt("tensor \(name) \(shape) where \(p.name) \(p.shape) is expected")
                }
                let encoding: TensorEncoding
                if version == formatVersion {
                    encoding = .f32
                } else {
                    let raw = try r.read(UInt8.self)
                    guard let e = TensorEncoding(rawValue: raw) else { throw corrupt("tensor \(name) has unknown encoding \(raw)") }
                    encoding = e
                    let wanted: TensorEncoding = int8Names.contains(name) ? .int8PerOutputChannel : .f32
                    guard encoding == wanted else { throw corrupt("tensor \(name) is stored as \(encoding) where \(wanted) is expected") }
                }
                switch encoding {
                case .f32:
                    try p.setValues(try readFloats(&r, count: p.count, name: name, corrupt: corrupt))
                case .int8PerOutputChannel:
                    let scales = try readFloats(&r, count: p.shape[0], name: name, corrupt: corrupt)
                    guard p.count <= r.remaining else { throw corrupt("truncated inside tensor \(name)") }
                    let values = try r.readBytes(p.count).map { Int8(bitPattern: $0) }
                    int8Synthesis[name] = try Int8ChannelWeights(shape: p.shape, scales: scales, values: values)
                }
            }
            var activationScales: [Float] = []
            if version == int8FormatVersion {
                let count = Int(try r.read(UInt8.self))
                guard count == 0 || count == convolutions else {
                    throw corrupt("\(count) int8 activation scales for \(convolutions) g_s convolutions")
                }
                activationScales = try readFloats(&r, count: count, name: "int8 activation scales", corrupt: corrupt)
            }
            var meanHeadInputStep: Float?
            if configuration.predictsMeans {
                meanHeadInputStep = try readFloats(&r, count: 1, name: "mean head input step", corrupt: corrupt)[0]
            }
            let hyperSynthesis = try IntegerHyperSynthesis(serialized: try readBlock(&r))
            let gaussian = try EntropyTables(serialized: try readBlock(&r))
            let factorized = try EntropyTables(serialized: try readBlock(&r))
            var offsets: [Int32] = []
            guard levels * m * 4 == r.remaining else { throw corrupt("\(r.remaining) bytes where \(levels * m) offsets are expected") }
            for _ in 0..<(levels * m) { offsets.append(try r.read(Int32.self)) }
            return try CodecModel(configuration: configuration, network: network, hyperSynthesis: hyperSynthesis,
                                  gaussianTables: gaussian, factorizedTables: factorized, indexOffsets: offsets,
                                  canEncode: includesEncoder, info: info, int8Synthesis: int8Synthesis,
                                  int8ActivationScales: activationScales, meanHeadInputStep: meanHeadInputStep)
        } catch let error as CodecError {
            throw error
        } catch {
            throw corrupt("\(error)")
        }
    }

    /// Reads a model file.
    public static func load(contentsOfFile path: String, engine: Engine) throws -> CodecModel {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CodecError(code: .invalidArgument, message: "cannot read model \(path): \(error.localizedDescription)")
        }
        return try load(Array(data), engine: engine)
    }

    /// `count` finite f32 values.
    private static func readFloats(_ r: inout ByteReader, count: Int, name: String,
                                   corrupt: (String) -> CodecError) throws -> [Float] {
        guard count * 4 <= r.remaining else { throw corrupt("truncated inside tensor \(name)") }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = Float(bitPattern: try r.read(UInt32.self)) }
        guard values.allSatisfy(\.isFinite) else { throw corrupt("tensor \(name) holds NaN or infinity") }
        return values
    }

    private static func readBlock(_ r: inout ByteReader) throws -> [UInt8] {
        let length = Int(try r.read(UInt32.self))
        return try r.readBytes(length)
    }
}
