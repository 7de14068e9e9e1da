extension IntegerHyperSynthesis {
    static let magic: [UInt8] = Array("NXHS".utf8)
    static let formatVersion: UInt16 = 1

    /// The deterministic little-endian encoding stored in the model (see `docs/BITSTREAM.md`
    /// § Integer hyper-synthesis).
    public func serialized() -> [UInt8] {
        var w = ByteWriter()
        w.append(contentsOf: Self.magic)
        w.append(Self.formatVersion)
        w.append(UInt16(layers.count))
        for layer in layers {
            let g = layer.geometry
            w.append(g.kind.rawValue)
            w.append(UInt8(g.kernelHeight))
            w.append(UInt8(g.kernelWidth))
            w.append(UInt8(g.stride))
            w.append(UInt8(g.padding))
            w.append(UInt8(g.outputPadding))
            w.append(UInt16(layer.inputChannels))
            w.append(UInt16(layer.outputChannels))
            w.append(Int16(layer.inputRange.lowerBound))
            w.append(Int16(layer.inputRange.upperBound))
            w.append(Int16(layer.outputRange.lowerBound))
            w.append(Int16(layer.outputRange.upperBound))
            for v in layer.weights { w.append(v) }
            for v in layer.biases { w.append(v) }
            for r in layer.rescales { w.append(r.multiplier) }
            for r in layer.rescales { w.append(r.shift) }
        }
        return w.bytes
    }

    /// Loads a network written by `serialized()`, re-validating every layer.
    ///
    /// - Throws: `.invalidNetwork` for a wrong magic or version, truncation, trailing bytes, or any
    ///   parameter the layer constructor rejects.
    public init(serialized bytes: [UInt8]) throws {
        var r = ByteReader(bytes, what: "integer hyper-synthesis", shortReadCode: .invalidNetwork)
        guard try r.readBytes(4) == Self.magic else {
            throw EntropyCodingError(.invalidNetwork, "the hyper-synthesis block does not start with \"NXHS\"")
        }
        let version = try r.read(UInt16.self)
        guard version == Self.formatVersion else {
            throw EntropyCodingError(.invalidNetwork, "hyper-synthesis version \(version) is not supported (expected \(Self.formatVersion)); upgrade Nacre")
        }
        let count = Int(try r.read(UInt16.self))
        var layers: [IntegerConvLayer] = []
        for _ in 0..<count {
            guard let kind = ConvolutionGeometry.Kind(rawValue: try r.read(UInt8.self)) else {
                throw EntropyCodingError(.invalidNetwork, "unknown layer kind in the hyper-synthesis block")
            }
            let kh = Int(try r.read(UInt8.self)), kw = Int(try r.read(UInt8.self))
            let stride = Int(try r.read(UInt8.self)), padding = Int(try r.read(UInt8.self))
            let outputPadding = Int(try r.read(UInt8.self))
            let geometry = try ConvolutionGeometry(kind: kind, kernelHeight: kh, kernelWidth: kw, stride: stride,
                                                   padding: padding, outputPadding: outputPadding)
            let cin = Int(try r.read(UInt16.self)), cout = Int(try r.read(UInt16.self))
            let inLow = Int32(try r.read(Int16.self)), inHigh = Int32(try r.read(Int16.self))
            let outLow = Int32(try r.read(Int16.self)), outHigh = Int32(try r.read(Int16.self))
            guard inLow <= inHigh, outLow <= outHigh else {
                throw EntropyCodingError(.invalidNetwork, "a hyper-synthesis layer has an empty activation range")
            }
            let weightCount = cin * cout * kh * kw
            guard weightCount + 9 * cout <= r.remaining else {
                throw EntropyCodingError(.invalidNetwork, "the hyper-synthesis block is truncated inside a layer")
            }
            let weights = try r.readBytes(weightCount).map { Int8(bitPattern: $0) }
            var biases: [Int32] = [], multipliers: [Int32] = [], rescales: [FixedPointMultiplier] = []
            for _ in 0..<cout { biases.append(try r.read(Int32.self)) }
            for _ in 0..<cout { multipliers.append(try r.read(Int32.self)) }
            for o in 0..<cout { rescales.append(try FixedPointMultiplier(multiplier: multipliers[o], shift: try r.read(UInt8.self))) }
            layers.append(try IntegerConvLayer(geometry: geometry, inputChannels: cin, outputChannels: cout, weights: weights,
                                               biases: biases, rescales: rescales, inputRange: inLow...inHigh, outputRange: outLow...outHigh))
        }
        guard r.isAtEnd else {
            throw EntropyCodingError(.invalidNetwork, "\(r.remaining) unexpected bytes after the hyper-synthesis layers")
        }
        try self.init(layers: layers)
    }
}
