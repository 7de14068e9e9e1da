import CDNNL

/// Element types the engine stores in oneDNN memory.
enum DNNLDataType: Sendable {
    case f32, bf16

    var raw: dnnl_data_type_t { self == .f32 ? dnnl_f32 : dnnl_bf16 }
    var byteSize: Int { self == .f32 ? 4 : 2 }
}
