extension IntegerHyperSynthesis {
    /// The z range the first layer sees (wider z values are clamped; trained z stays far inside).
    public static let defaultZRange: ClosedRange<Int32> = -127...127
    /// Hidden activations are clipped ReLUs with this many steps above 0.
    public static let hiddenActivationMaximum: Int32 = 255

    /// Quantizes a float-trained h_s into the integer network, calibrating each hidden layer's
    /// activation range on sample z maps.
    ///
    /// - Parameters:
    ///   - layers: hidden layers with `.relu`, the last with `.identity` producing the scale index in
    ///     index units (see the type's documentation).
    ///   - calibration: representative quantized z maps (a few images' worth is plenty).
    ///   - indexCount: number of scale tables (the output is clamped to 0..<indexCount).
    ///   - quantile: the fraction of calibration activations that must fit under each hidden
    ///     layer's clip; 1 means the maximum.
    public static func quantizing(_ layers: [FloatConvLayer], calibration: [IntegerFeatureMap], indexCount: Int = 64,
                                  zRange: ClosedRange<Int32> = defaultZRange, quantile: Double = 0.9999) throws -> IntegerHyperSynthesis {
        let maxima = try hiddenActivationMaxima(layers, calibration: calibration, zRange: zRange, quantile: quantile)
        return try quantizing(layers, hiddenActivationMaxima: maxima, indexCount: indexCount, zRange: zRange)
    }

    /// Quantizes a float-trained h_s given each hidden layer's activation ceiling (real units;
    /// values above are clipped). Weights get per-output-channel scales (max |w| → 127), biases go
    /// to accumulator units, and each channel's rescale becomes a `FixedPointMultiplier`.
    public static func quantizing(_ layers: [FloatConvLayer], hiddenActivationMaxima: [Double], indexCount: Int = 64,
                                  zRange: ClosedRange<Int32> = defaultZRange) throws -> IntegerHyperSynthesis {
        guard !layers.isEmpty, hiddenActivationMaxima.count == layers.count - 1 else {
            throw EntropyCodingError(.invalidArgument, "\(layers.count) layers need \(max(layers.count - 1, 0)) hidden activation maxima, got \(hiddenActivationMaxima.count)")
        }
        guard indexCount >= 1, indexCount <= 256 else {
            throw EntropyCodingError(.invalidArgument, "index count \(indexCount) must lie in 1...256")
        }
        var result: [IntegerConvLayer] = []
        var inputScale = 1.0  // z is integer
        var inputRange = zRange
        for (l, layer) in layers.enumerated() {
            let isLast = l == layers.count - 1
            guard layer.activation == (isLast ? .identity : .relu) else {
                throw EntropyCodingError(.invalidNetwork, "layer \(l) must use \(isLast ? "identity (it outputs the index)" : "ReLU")")
            }
            let outputScale: Double
            if isLast {
                outputScale = 1
            } else {
                let ceiling = hiddenActivationMaxima[l]
                guard ceiling.isFinite, ceiling > 0 else {
                    throw EntropyCodingError(.invalidArgument, "hidden activation maximum \(ceiling) of layer \(l) must be finite and > 0")
                }
                outputScale = ceiling / Double(hiddenActivationMaximum)
            }
            let outputRange: ClosedRange<Int32> = isLast ? 0...Int32(indexCount - 1) : 0...hiddenActivationMaximum
            result.append(try quantize(layer, inputScale: inputScale, outputScale: outputScale, inputRange: inputRange, outputRange: outputRange))
            inputScale = outputScale
            inputRange = outputRange
        }
        return try IntegerHyperSynthesis(layers: result)
    }

    /// Each hidden layer's activation at `quantile` over the calibration maps (float reference path).
    public static func hiddenActivationMaxima(_ layers: [FloatConvLayer], calibration: [IntegerFeatureMap],
                                              zRange: ClosedRange<Int32> = defaultZRange, quantile: Double = 0.9999) throws -> [Double] {
        guard !calibration.isEmpty, quantile > 0, quantile <= 1 else {
            throw EntropyCodingError(.invalidArgument, "calibration needs at least one z map and a quantile in (0, 1]")
        }
        var samples = [[Float]](repeating: [], count: max(layers.count - 1, 0))
        for z in calibration {
            var map = FloatFeatureMap(z)
            map.values = map.values.map { min(max($0, Float(zRange.lowerBound)), Float(zRange.upperBound)) }
            for (l, layer) in layers.dropLast().enumerated() {
                map = try layer.forward(map)
                samples[l].append(contentsOf: map.values)
            }
        }
        return samples.map { values in
            let sorted = values.sorted()
            let k = min(sorted.count - 1, Int((Double(sorted.count - 1) * quantile).rounded(.up)))
            let top = Double(sorted[k])
            return top > 0 ? top : 1  // a dead layer still needs a valid scale
        }
    }

    private static func quantize(_ layer: FloatConvLayer, inputScale: Double, outputScale: Double,
                                 inputRange: ClosedRange<Int32>, outputRange: ClosedRange<Int32>) throws -> IntegerConvLayer {
        let taps = layer.geometry.kernelHeight * layer.geometry.kernelWidth
        let cin = layer.inputChannels, cout = layer.outputChannels
        let maxInput = Int64(max(-inputRange.lowerBound, inputRange.upperBound))
        var weights = [Int8](repeating: 0, count: cout * cin * taps)
        var biases = [Int32](repeating: 0, count: cout)
        var rescales: [FixedPointMultiplier] = []
        for o in 0..<cout {
            var largest: Float = 0
            for i in 0..<cin { for t in 0..<taps { largest = max(largest, abs(layer.weight(out: o, in: i, tap: t))) } }
            let weightScale = largest > 0 ? Double(largest) / 127 : 1
            var worst: Int64 = 0
            for i in 0..<cin {
                for t in 0..<taps {
                    let q = (Double(layer.weight(out: o, in: i, tap: t)) / weightScale).rounded()
                    let w = Int8(min(max(q, -127), 127))
                    weights[(o * cin + i) * taps + t] = w
                    worst += Int64(w.magnitude) * maxInput
                }
            }
            // Keep |bias| + worst-case sum inside Int32 (clipping a bias that large changes nothing
            // reachable: the output would saturate anyway).
            let biasLimit = Double(Int64(Int32.max) - worst)
            let b = (Double(layer.biases[o]) / (weightScale * inputScale)).rounded()
            biases[o] = Int32(min(max(b, -biasLimit), biasLimit))
            rescales.append(try FixedPointMultiplier(approximating: weightScale * inputScale / outputScale))
        }
        return try IntegerConvLayer(geometry: layer.geometry, inputChannels: cin, outputChannels: cout, weights: weights,
                                    biases: biases, rescales: rescales, inputRange: inputRange, outputRange: outputRange)
    }
}
