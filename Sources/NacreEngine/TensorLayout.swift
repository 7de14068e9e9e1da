/// How a tensor's elements are ordered in memory. The engine picks it from the channel count:
/// channel counts divisible by 16 use oneDNN's blocked nChw16c (the layout its AVX-512
/// convolutions choose), others (the 3-channel image edges) stay plain NCHW, so no tensor carries
/// block padding.
enum TensorLayout: Sendable {
    case nchw
    case nChw16c

    static func preferred(channels: Int) -> TensorLayout {
        channels % 16 == 0 ? .nChw16c : .nchw
    }

    var dnnl: DNNLLayout { self == .nchw ? .plain : .nChw16c }
}
