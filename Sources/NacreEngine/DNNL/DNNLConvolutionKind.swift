/// Which oneDNN primitive family a convolution-like layer uses.
enum DNNLConvolutionKind: Sendable {
    case convolution
    case deconvolution
}
