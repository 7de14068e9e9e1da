import CDNNL

/// The oneDNN CPU engine and its in-order stream. Not thread-safe: one context per training or
/// inference job; oneDNN parallelises inside each primitive with OpenMP.
final class DNNLContext: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    /// OpenMP threads used by every primitive and by the engine's own kernels.
    let threadCount: Int

    init(threadCount: Int) throws {
        var e: dnnl_engine_t?
        try dnnlCheck(dnnl_engine_create(&e, dnnl_cpu, 0), "engine_create")
        var s: dnnl_stream_t?
        let status = dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue)
        if status != dnnl_success { dnnl_engine_destroy(e) }
        try dnnlCheck(status, "stream_create")
        engine = e!
        stream = s!
        self.threadCount = max(1, threadCount)
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    /// Applies the thread setting to the calling thread's OpenMP state (cheap; per-thread ICV).
    @inline(__always)
    func applyThreads() { OpenMP.shared.setThreads(threadCount) }
}
