#if canImport(Glibc)
import Glibc
#endif

/// oneDNN's OpenMP runtime (libgomp, loaded with libdnnl), reached through `dlsym` because
/// `dnnl.h` does not declare it. The engine's own kernels run on the same thread team as oneDNN's
/// primitives, so the one thread setting governs all compute threads.
final class OpenMP: @unchecked Sendable {
    static let shared = OpenMP()

    private typealias SetThreads = @convention(c) (Int32) -> Void
    private typealias GetInt = @convention(c) () -> Int32
    typealias Body = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private typealias Parallel = @convention(c) (Body, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void

    private let setNumThreads: SetThreads?
    private let getMaxThreads: GetInt?
    private let getThreadNum: GetInt?
    private let getNumThreads: GetInt?
    private let gompParallel: Parallel?

    private init() {
        let handle = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD) ?? dlopen("libgomp.so.1", RTLD_NOW)
        func symbol<T>(_ name: String, _: T.Type) -> T? {
            guard let handle, let p = dlsym(handle, name) else { return nil }
            return unsafeBitCast(p, to: T.self)
        }
        setNumThreads = symbol("omp_set_num_threads", SetThreads.self)
        getMaxThreads = symbol("omp_get_max_threads", GetInt.self)
        getThreadNum = symbol("omp_get_thread_num", GetInt.self)
        getNumThreads = symbol("omp_get_num_threads", GetInt.self)
        gompParallel = symbol("GOMP_parallel", Parallel.self)
    }

    /// Whether libgomp was found (it is whenever libdnnl is linked against it, as on Debian).
    var isAvailable: Bool { setNumThreads != nil && gompParallel != nil }

    func setThreads(_ n: Int) { setNumThreads?(Int32(n)) }
    var maxThreads: Int { Int(getMaxThreads?() ?? 1) }
    var threadIndex: Int { Int(getThreadNum?() ?? 0) }
    var teamSize: Int { Int(getNumThreads?() ?? 1) }

    /// Runs `body(threadIndex, threadCount)` on `threads` OpenMP threads and waits for all.
    func parallel(threads: Int, _ body: (Int, Int) -> Void) {
        guard threads > 1, let gompParallel else {
            body(0, 1)
            return
        }
        withoutActuallyEscaping(body) { escaping in
            let job = ParallelJob(escaping)
            let unmanaged = Unmanaged.passRetained(job)
            gompParallel(parallelTrampoline, unmanaged.toOpaque(), UInt32(threads), 0)
            unmanaged.release()
        }
    }
}

private final class ParallelJob: @unchecked Sendable {
    let body: (Int, Int) -> Void
    init(_ body: @escaping (Int, Int) -> Void) { self.body = body }
}

private let parallelTrampoline: OpenMP.Body = { raw in
    let job = Unmanaged<ParallelJob>.fromOpaque(raw!).takeUnretainedValue()
    job.body(OpenMP.shared.threadIndex, OpenMP.shared.teamSize)
}
