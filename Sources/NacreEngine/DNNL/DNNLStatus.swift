import CDNNL

/// Turns a oneDNN status into a thrown `EngineError`; `what` names the failing call.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
    if status == dnnl_success { return }
    let name: String
    switch status {
    case dnnl_out_of_memory: name = "out_of_memory"
    case dnnl_invalid_arguments: name = "invalid_arguments"
    case dnnl_unimplemented: name = "unimplemented"
    case dnnl_iterator_ends: name = "iterator_ends"
    case dnnl_runtime_error: name = "runtime_error"
    case dnnl_not_required: name = "not_required"
    default: name = "status \(status.rawValue)"
    }
    let code: EngineError.Code = status == dnnl_unimplemented ? .unimplemented : .backendFailure
    throw EngineError(code, "oneDNN \(what()) failed: \(name). Check the shapes and data types "
        + "passed to the layer; set DNNL_VERBOSE=1 for oneDNN's own diagnostics.")
}
