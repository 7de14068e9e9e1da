import CDNNL

/// Element types the engine stores in oneDNN memory.
enum DNNLDataType: Sendable {
    case f32, bf16, s8

    var raw: dnnl_data_type_t {
        switch self {
        case .f32: return dnnl_f32
        case .bf16: return dnnl_bf16
        case .s8: return dnnl_s8
        }
    }

    var byteSize: Int {
        switch self {
        case .f32: return 4
        case .bf16: return 2
        case .s8: return 1
        }
    }
}
