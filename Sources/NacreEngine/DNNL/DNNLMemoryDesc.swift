import CDNNL

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

    var dataType: DNNLDataType {
        switch raw.data_type {
        case dnnl_bf16: return .bf16
        case dnnl_s8: return .s8
        default: return .f32
        }
    }

    func sameLayout(as other: DNNLMemoryDesc) -> Bool {
        var a = raw, b = other.raw
        return dnnl_memory_desc_equal(&a, &b) != 0
    }
}
