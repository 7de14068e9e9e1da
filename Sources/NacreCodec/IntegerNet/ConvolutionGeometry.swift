/// The shape of a 2-D convolution or transposed convolution, shared by the integer layers and
/// their float reference so both index pixels identically (PyTorch conventions).
public struct ConvolutionGeometry: Sendable, Equatable {
    /// Convolution or transposed convolution.
    public enum Kind: UInt8, Sendable {
        case convolution = 0
        case transposedConvolution = 1
    }

    public let kind: Kind
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let stride: Int
    public let padding: Int
    /// Extra rows/columns at the bottom/right of a transposed convolution's output.
    public let outputPadding: Int

    /// - Throws: `.invalidNetwork` for kernels beyond 15, strides beyond 8, padding not smaller
    ///   than the kernel, or output padding not smaller than the stride (or on a convolution).
    public init(kind: Kind, kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0) throws {
        guard kernelHeight >= 1, kernelWidth >= 1, kernelHeight <= 15, kernelWidth <= 15,
              stride >= 1, stride <= 8, padding >= 0, padding < max(kernelHeight, kernelWidth),
              outputPadding >= 0, outputPadding < stride, kind == .transposedConvolution || outputPadding == 0 else {
            throw EntropyCodingError(.invalidNetwork,
                "unsupported \(kind) geometry: kernel \(kernelHeight)×\(kernelWidth), stride \(stride), padding \(padding), output padding \(outputPadding)")
        }
        self.kind = kind
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    /// Output height and width for an input of `height × width`, or nil if the input is too small.
    /// Convolution: `(n + 2p − k) / s + 1`; transposed: `(n − 1)·s − 2p + k + outputPadding`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int)? {
        func along(_ n: Int, _ k: Int) -> Int {
            guard n >= 1 else { return 0 }
            switch kind {
            case .convolution: return n + 2 * padding >= k ? (n + 2 * padding - k) / stride + 1 : 0
            case .transposedConvolution: return (n - 1) * stride - 2 * padding + k + outputPadding
            }
        }
        let h = along(height, kernelHeight), w = along(width, kernelWidth)
        return h >= 1 && w >= 1 ? (h, w) : nil
    }

    /// For every output coordinate along one axis, the (kernel tap, input coordinate) pairs that
    /// reach it: convolution `input = out·s − p + k`; transposed `out = input·s − p + k`.
    func contributions(outputs: Int, inputs: Int, kernel: Int) -> [[(tap: Int, input: Int)]] {
        (0..<outputs).map { out in
            (0..<kernel).compactMap { k -> (tap: Int, input: Int)? in
                switch kind {
                case .convolution:
                    let i = out * stride - padding + k
                    return i >= 0 && i < inputs ? (k, i) : nil
                case .transposedConvolution:
                    let t = out + padding - k
                    guard t >= 0, t % stride == 0, t / stride < inputs else { return nil }
                    return (k, t / stride)
                }
            }
        }
    }
}
