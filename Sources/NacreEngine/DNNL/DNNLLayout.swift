import CDNNL

/// Memory layouts the engine names explicitly; `.any` lets a primitive choose.
enum DNNLLayout: Sendable {
    /// Let the primitive pick (blocked layouts such as nChw16c or OIhw16i16o).
    case any
    /// Plain NCHW (activations) / OIHW (weights), row-major.
    case plain
    /// nChw16c: channels in blocks of 16 innermost.
    case nChw16c
    /// A 1-D vector (biases).
    case vector
    /// Channels-last NHWC.
    case nhwc

    func tag(ndims: Int) -> dnnl_format_tag_t {
        switch self {
        case .any: return dnnl_format_tag_any
        case .plain: return ndims == 1 ? dnnl_a : (ndims == 2 ? dnnl_ab : dnnl_abcd)
        case .nChw16c: return dnnl_aBcd16b
        case .vector: return dnnl_a
        case .nhwc: return dnnl_acdb
        }
    }
}
