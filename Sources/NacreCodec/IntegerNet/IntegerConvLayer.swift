import Dispatch
import Foundation

/// One layer of an integer network (Ballé, Johnston & Minnen 2019): a 2-D convolution or transposed
/// convolution with int8 weights, int32 accumulation, an int32 bias, a per-output-channel
/// fixed-point rescale, and a clip (a clipped ReLU when `outputRange` starts at 0).
///
/// No floating point is involved, and every intermediate is provably inside Int32 (checked at
/// construction), so the output is identical on every CPU and for any evaluation order.
/// Geometry follows PyTorch (see `ConvolutionGeometry`).
public struct IntegerConvLayer: Sendable, Equatable {
    /// Kernel, stride and padding.
    public let geometry: ConvolutionGeometry
    public let inputChannels: Int
    public let outputChannels: Int
    /// Weights `[out][in][ky][kx]`, each in −127...127. For a transposed convolution this is
    /// PyTorch's `weight[in][out][ky][kx]` with the first two axes swapped.
    public let weights: [Int8]
    /// Per output channel, in accumulator units (input scale × weight scale).
    public let biases: [Int32]
    /// Per output channel: accumulator → output units.
    public let rescales: [FixedPointMultiplier]
    /// Inputs are clamped to this range first (it bounds the accumulator); within −255...255.
    public let inputRange: ClosedRange<Int32>
    /// Outputs are clamped to this range; within −255...255.
    public let outputRange: ClosedRange<Int32>

    /// Weights re-laid out for the inner loop: `[ky][kx][in/2][out][in%2]` as Int16, i.e. for each
    /// tap and pair of input channels, the (even, odd) weight pairs of every output channel, with
    /// output channels padded with zeros to a multiple of `outputBlock` and inputs to an even count.
    /// This is the operand order of a 16-bit multiply-add (SSE2 `pmaddwd`); products of an int8
    /// weight and a ±255 input and the sum of two of them fit Int32 exactly.
    let tapWeights: [Int16]
    /// Biases padded like `tapWeights`.
    let paddedBiases: [Int32]
    var paddedOutputChannels: Int { (outputChannels + Self.outputBlock - 1) / Self.outputBlock * Self.outputBlock }
    var inputPairs: Int { (inputChannels + 1) / 2 }
    /// Output channels per vector block.
    static let outputBlock = 16
    static let threadCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// The largest value an activation may take in magnitude (products then fit Int16).
    public static let activationLimit: Int32 = 255

    /// - Throws: `.invalidNetwork` for inconsistent sizes, weights outside ±127, ranges outside
    ///   ±255, or a bias large enough that the accumulator could leave Int32.
    public init(geometry: ConvolutionGeometry, inputChannels: Int, outputChannels: Int, weights: [Int8], biases: [Int32],
                rescales: [FixedPointMultiplier], inputRange: ClosedRange<Int32>, outputRange: ClosedRange<Int32>) throws {
        func fail(_ message: String) -> EntropyCodingError { EntropyCodingError(.invalidNetwork, message) }
        guard inputChannels >= 1, outputChannels >= 1, inputChannels <= 4096, outputChannels <= 4096 else {
            throw fail("layer channels \(inputChannels)→\(outputChannels) must lie in 1...4096")
        }
        let kernelHeight = geometry.kernelHeight, kernelWidth = geometry.kernelWidth
        let taps = kernelHeight * kernelWidth
        guard weights.count == outputChannels * inputChannels * taps,
              biases.count == outputChannels, rescales.count == outputChannels else {
            throw fail("a \(inputChannels)→\(outputChannels) \(kernelHeight)×\(kernelWidth) layer needs \(outputChannels * inputChannels * taps) weights and \(outputChannels) biases and rescales; got \(weights.count), \(biases.count), \(rescales.count)")
        }
        guard weights.allSatisfy({ $0 != Int8.min }) else { throw fail("weights must lie in −127...127") }
        let limit = Self.activationLimit
        guard inputRange.lowerBound >= -limit, inputRange.upperBound <= limit,
              outputRange.lowerBound >= -limit, outputRange.upperBound <= limit else {
            throw fail("activation ranges must lie within ±\(limit); got input \(inputRange), output \(outputRange)")
        }
        // Worst-case accumulator per output channel: |bias| + Σ|w|·max|input| must stay in Int32.
        let maxInput = Int64(max(-inputRange.lowerBound, inputRange.upperBound))
        for o in 0..<outputChannels {
            var worst = Int64(biases[o].magnitude)
            for k in (o * inputChannels * taps)..<((o + 1) * inputChannels * taps) {
                worst += Int64(weights[k].magnitude) * maxInput
            }
            guard worst <= Int64(Int32.max) else {
                throw fail("output channel \(o) could reach \(worst) in its accumulator, beyond Int32; reduce its bias or weights")
            }
        }
        self.geometry = geometry
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.weights = weights
        self.biases = biases
        self.rescales = rescales
        self.inputRange = inputRange
        self.outputRange = outputRange
        let padded = (outputChannels + Self.outputBlock - 1) / Self.outputBlock * Self.outputBlock
        let pairs = (inputChannels + 1) / 2
        var relaid = [Int16](repeating: 0, count: taps * pairs * padded * 2)
        for o in 0..<outputChannels {
            for i in 0..<inputChannels {
                for t in 0..<taps {
                    relaid[((t * pairs + i / 2) * padded + o) * 2 + i % 2] = Int16(weights[(o * inputChannels + i) * taps + t])
                }
            }
        }
        self.tapWeights = relaid
        self.paddedBiases = biases + [Int32](repeating: 0, count: padded - outputChannels)
    }

    public static func == (a: IntegerConvLayer, b: IntegerConvLayer) -> Bool {
        a.geometry == b.geometry && a.inputChannels == b.inputChannels && a.outputChannels == b.outputChannels
            && a.weights == b.weights
            && a.biases == b.biases && a.rescales == b.rescales && a.inputRange == b.inputRange
            && a.outputRange == b.outputRange
    }

    /// Applies the layer to a CHW map (inputs are clamped to `inputRange` first).
    public func apply(_ input: IntegerFeatureMap) throws -> IntegerFeatureMap {
        guard input.channels == inputChannels else {
            throw EntropyCodingError(.invalidArgument, "layer expects \(inputChannels) input channels, got \(input.channels)")
        }
        let hwc = Self.channelsLast(input, clampedTo: inputRange)
        let (out, h, w) = try applyChannelsLast(hwc, height: input.height, width: input.width)
        return Self.channelsFirst(out, channels: outputChannels, height: h, width: w)
    }

    /// The layer on a channels-last (HWC) map whose values are already within `inputRange`.
    ///
    /// Output rows are independent, so they are shared among threads; each output is the same
    /// exact integer sum whatever the split, so the result does not depend on the thread count.
    func applyChannelsLast(_ input: [Int16], height: Int, width: Int, maximumThreads: Int = threadCount,
                           portable: Bool = false) throws -> (values: [Int16], height: Int, width: Int) {
        guard let (outHeight, outWidth) = geometry.outputSize(height: height, width: width) else {
            throw EntropyCodingError(.invalidArgument, "a \(height)×\(width) input is too small for a \(geometry.kernelHeight)×\(geometry.kernelWidth) \(geometry.kind)")
        }
        var output = [Int16](repeating: 0, count: outHeight * outWidth * outputChannels)
        let work = output.count * inputChannels * geometry.kernelHeight * geometry.kernelWidth
        let chunks = work > 4_000_000 && maximumThreads > 1 ? min(outHeight, maximumThreads * 4) : 1
        input.withUnsafeBufferPointer { inPtr in
            tapWeights.withUnsafeBufferPointer { wPtr in
                paddedBiases.withUnsafeBufferPointer { bPtr in
                    output.withUnsafeMutableBufferPointer { outPtr in
                        let kernel = IntegerConvRowKernel(
                            layer: self, input: inPtr.baseAddress!, weights: wPtr.baseAddress!, biases: bPtr.baseAddress!,
                            output: outPtr.baseAddress!, inputWidth: width, outputWidth: outWidth,
                            rowTaps: geometry.contributions(outputs: outHeight, inputs: height, kernel: geometry.kernelHeight),
                            columnTaps: geometry.contributions(outputs: outWidth, inputs: width, kernel: geometry.kernelWidth),
                            portable: portable)
                        if chunks == 1 {
                            kernel.run(rows: 0..<outHeight)
                        } else {
                            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                                kernel.run(rows: (c * outHeight / chunks)..<((c + 1) * outHeight / chunks))
                            }
                        }
                    }
                }
            }
        }
        return (output, outHeight, outWidth)
    }

    /// CHW Int32 → HWC Int16, clamping every value into `range` (which fits Int16).
    static func channelsLast(_ map: IntegerFeatureMap, clampedTo range: ClosedRange<Int32>) -> [Int16] {
        let plane = map.height * map.width
        var out = [Int16](repeating: 0, count: map.values.count)
        for c in 0..<map.channels {
            for p in 0..<plane {
                out[p * map.channels + c] = Int16(min(max(map.values[c * plane + p], range.lowerBound), range.upperBound))
            }
        }
        return out
    }

    /// HWC Int16 → CHW Int32.
    static func channelsFirst(_ values: [Int16], channels: Int, height: Int, width: Int) -> IntegerFeatureMap {
        let plane = height * width
        var out = [Int32](repeating: 0, count: values.count)
        for p in 0..<plane {
            for c in 0..<channels { out[c * plane + p] = Int32(values[p * channels + c]) }
        }
        return IntegerFeatureMap(uncheckedChannels: channels, height: height, width: width, values: out)
    }
}
