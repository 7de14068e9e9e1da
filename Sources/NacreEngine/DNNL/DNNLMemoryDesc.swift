import CDNNL

/// Element types the engine stores in oneDNN memory.
enum DNNLDataType: Sendable {
    case f32, bf16

    var raw: dnnl_data_type_t { self == .f32 ? dnnl_f32 : dnnl_bf16 }
    var byteSize: Int { self == .f32 ? 4 : 2 }
}

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

/// A oneDNN memory descriptor (value type in oneDNN 2.x).
struct DNNLMemoryDesc: @unchecked Sendable {
    var raw: dnnl_memory_desc_t

    init(raw: dnnl_memory_desc_t) { self.raw = raw }

    init(dims: [Int], type: DNNLDataType, layout: DNNLLayout) throws {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        try dnnlCheck(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, type.raw, layout.tag(ndims: d.count)),
                      "memory_desc_init_by_tag(\(dims))")
        raw = md
    }

    /// Bytes a buffer for this descriptor needs (including any block padding).
    var byteCount: Int {
        var md = raw
        return dnnl_memory_desc_get_size(&md)
    }

    var dataType: DNNLDataType { raw.data_type == dnnl_bf16 ? .bf16 : .f32 }

    func sameLayout(as other: DNNLMemoryDesc) -> Bool {
        var a = raw, b = other.raw
        return dnnl_memory_desc_equal(&a, &b) != 0
    }
}
