import Logging
#if canImport(Glibc)
import CLinux
import Glibc
#endif

/// Arithmetic used by convolutions. Activations, elementwise kernels and master weights are
/// always float32; `.bf16` converts convolution inputs, weights and output gradients to bfloat16
/// (oneDNN bf16 convolutions, float32 accumulation and outputs).
public enum Precision: String, Sendable, CaseIterable {
    case f32
    case bf16
}

/// The compute context: oneDNN engine and stream, the thread setting, and the precision.
/// Create one per job and use it from one thread at a time; oneDNN and the engine's kernels
/// parallelise internally over `threads` OpenMP threads.
public final class Engine: @unchecked Sendable {
    /// OpenMP threads for every primitive and kernel (the one thread setting).
    public let threads: Int
    /// Convolution precision; layers create separate cached primitives per precision, so it can be
    /// switched between steps.
    public var precision: Precision
    /// In `.bf16` precision, compute weight gradients in bf16 as well (otherwise in f32 from the f32
    /// activations). Off by default: oneDNN 2.6's bf16 weight-gradient kernels synchronise threads
    /// with a spinning barrier and stall for a scheduler slice per call when another process holds
    /// a core (see BENCHMARKS.md).
    public var bf16WeightGradients = false
    public let logger: Logger
    let context: DNNLContext

    /// - Parameters:
    ///   - threads: OpenMP threads to use; `nil` means every online core.
    ///   - precision: convolution arithmetic (see `Precision`).
    public init(threads: Int? = nil, precision: Precision = .f32,
                logger: Logger = Logger(label: "nacre.engine")) throws {
        let n = threads ?? Engine.onlineCores
        guard n >= 1 else { throw EngineError(.invalidArgument, "threads must be ≥ 1, got \(n)") }
        self.threads = n
        self.precision = precision
        self.logger = logger
        context = try DNNLContext(threadCount: n)
        if !OpenMP.shared.isAvailable {
            logger.warning("libgomp not found: thread setting not applied and engine kernels run single-threaded")
        }
    }

    /// libgomp reads `OMP_WAIT_POLICY` once, when the process starts; with the default (active)
    /// policy idle OpenMP threads spin, which doubled step times on a shared 2-core machine. Call
    /// this first thing in `main`: if the variable is unset it sets it to `policy` and re-executes
    /// the program (same arguments) so the setting takes effect; it returns only when no re-exec
    /// was needed or the re-exec failed (then returns false).
    @discardableResult
    public static func reexecuteWithOpenMPWaitPolicy(_ policy: String = "passive") -> Bool {
        guard getenv("OMP_WAIT_POLICY") == nil else { return true }
        setenv("OMP_WAIT_POLICY", policy, 1)
        let args = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", args)
        return false
    }

    static var onlineCores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Releases idle pooled tensor memory (e.g. after training, or when a long-running process
    /// goes idle).
    public func releaseIdleMemory() { BufferPool.shared.trim() }

    /// Frees every idle pooled tensor buffer of the process (the pool is shared by all engines),
    /// then returns the heap's free pages to the system with `malloc_trim`. That walks the heap
    /// holding the allocator's locks, so call it when the process is idle, not between requests.
    public static func returnIdleMemoryToTheSystem() {
        BufferPool.shared.trim()
        _ = malloc_trim(0)
    }

    /// The memory settings of a long-running process that codes images of many sizes (the
    /// daemon, and benchmarks that stand in for it): at most one image's working set (512 MiB)
    /// of tensor memory kept pooled.
    public static func useLongRunningMemoryPolicy() {
        idleMemoryLimitBytes = 512 << 20
    }

    /// Bound, for the whole process, on the tensor memory kept pooled for reuse when idle
    /// (default 2 GiB); past it the least recently used buffers are freed.
    public static var idleMemoryLimitBytes: Int {
        get { BufferPool.shared.limitBytes }
        set { BufferPool.shared.limitBytes = newValue }
    }

    /// Bytes of tensor memory pooled for reuse, not held by any tensor.
    public static var idleMemoryBytes: Int { BufferPool.shared.idleBytes }

    /// Splits `0..<count` into one contiguous chunk per thread and runs `body` on each chunk in
    /// parallel (inline when the work is small).
    func parallelFor(_ count: Int, minChunk: Int = 32_768, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, max(1, count / minChunk))
        if workers <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        OpenMP.shared.parallel(threads: workers) { index, team in
            // Chunks aligned to 16 elements keep SIMD loops and channel blocks whole.
            let per = ((count + team - 1) / team + 15) & ~15
            let lo = min(count, index * per), hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Sums `f(i)` over `0..<count` in double precision, in parallel.
    func parallelSum(_ count: Int, _ f: (Range<Int>) -> Double) -> Double {
        var partial = [Double](repeating: 0, count: threads)
        partial.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            let workers = min(threads, max(1, count / 32_768))
            if workers <= 1 {
                base[0] = count > 0 ? f(0..<count) : 0
                return
            }
            OpenMP.shared.parallel(threads: workers) { index, team in
                let per = ((count + team - 1) / team + 15) & ~15
                let lo = min(count, index * per), hi = min(count, lo + per)
                base[index] = lo < hi ? f(lo..<hi) : 0
            }
        }
        return partial.reduce(0, +)
    }
}
