import ArgumentParser
import Foundation
import Logging
import NacreCatalog
import NacreDaemon
import NacreEngine
import NacreStore

/// `nacre bench restore`: restore latency over the control socket (p50/p90) and the serving
/// process's RSS after the first few and after all restores (the memory-growth check of issue 6).
///
/// Against a running daemon (`--socket`), or against a server started in this process over a
/// scratch catalog indexed from `--archive` files (the real `CollectionCommands` and
/// `ControlServer`, with the same decode workers a daemon with `--threads` would have).
struct RestoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Time `restore` over the control socket and watch the server's memory.",
        discussion: """
            Each request restores IMAGE to the server's first restore root (overwrite: true), one at a \
            time, timed from send to reply by the client. RSS is the serving process's VmRSS (its pid \
            comes from `status`; in-process, that is this process, client included).
            """
    )

    @Option(help: "Socket of a running daemon (needs `status` to report a pid readable in /proc).")
    var socket: String?
    @Option(name: .customLong("archive"), help: "Serve in this process from these archives (repeatable) instead of --socket.")
    var archives: [String] = []
    @Option(help: "The image to restore (its name in the catalog).")
    var image: String
    @Option(help: "Archive id holding IMAGE, when the name is in several archives.")
    var archiveID: String?
    @Option(help: "Timed restores.") var count = 1000
    @Option(help: "RSS is also read after this many restores (the baseline).") var baseline = 10
    @Option(help: "In-process server: compute threads (the config's encode.threads; 0 = one per core).")
    var threads = 0
    @Flag(help: "Ask for fast PNG compression (restore's `fast`: quicker, larger files).") var fast = false
    @Flag(help: "Ask for the archive's denoiser (restore's `denoise`).") var denoise = false
    @Option(help: "OpenMP wait policy for the in-process server (passive sleeps idle threads; active spins), applied by re-executing; 'inherit' keeps the environment's, as `nacre daemon` does.")
    var waitPolicy = "inherit"
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (socket == nil) != archives.isEmpty else {
            throw ValidationError("give either --socket PATH or --archive FILE (repeatable)")
        }
        guard count > baseline, baseline >= 1 else { throw ValidationError("--count must exceed --baseline (≥ 1)") }
    }

    func run() async throws {
        if waitPolicy != "inherit", !Engine.reexecuteWithOpenMPWaitPolicy(waitPolicy) {
            print("warning: could not re-execute with OMP_WAIT_POLICY=\(waitPolicy)")
        }
        var local: InProcessServer?
        if !archives.isEmpty {
            Engine.useLongRunningMemoryPolicy()  // as `nacre daemon`
            local = try await InProcessServer(archives: archives, threads: threads)
        }
        defer { local?.stop() }
        let path = socket ?? local!.socketPath
        var args: [String: JSONValue] = ["image": .string(image), "overwrite": true]
        if fast { args["fast"] = true }
        if denoise { args["denoise"] = true }
        if let archiveID { args["archive"] = .string(archiveID) }
        let request = ControlRequest(command: .restore, args: args)
        let (count, baseline) = (self.count, self.baseline)
        let measured = try await Self.offPool { () throws -> Measurement in
            try Self.measure(path: path, request: request, count: count, baseline: baseline)
        }
        report(measured, workers: local?.commands.decodeConcurrency)
    }

    struct Measurement: Sendable {
        var milliseconds: [Double]
        var rssBaselineKB: Int
        var rssFinalKB: Int
        /// The server's CPU time (user + system) per timed restore, from /proc/PID/stat: far less
        /// sensitive than wall time to other load on a shared machine.
        var cpuMillisecondsPerRestore: Double
        var pid: Int64
        var lastReply: JSONValue
    }

    /// One client, sequential restores; RSS read through /proc after `baseline` and at the end.
    static func measure(path: String, request: ControlRequest, count: Int, baseline: Int) throws -> Measurement {
        let client = try ControlClient(path: path, timeout: 600)
        guard let pid = try client.send(ControlRequest(command: .status))["result"]?["pid"]?.intValue else {
            throw ValidationError("the daemon's status reply has no pid")
        }
        var times: [Double] = []
        var rssBaseline = 0
        let cpuStart = try cpuSeconds(pid: pid)
        var last: JSONValue = .null
        for index in 0..<count {
            let started = ContinuousClock.now
            last = try client.send(request)
            let elapsed = ContinuousClock.now - started
            guard last["ok"] == true else { throw ValidationError("restore failed: \(last)") }
            times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            if index + 1 == baseline { rssBaseline = try residentKB(pid: pid) }
        }
        let cpu = (try cpuSeconds(pid: pid) - cpuStart) * 1000 / Double(count)
        return Measurement(milliseconds: times, rssBaselineKB: rssBaseline, rssFinalKB: try residentKB(pid: pid),
                           cpuMillisecondsPerRestore: cpu, pid: pid, lastReply: last)
    }

    /// utime + stime of the process, in seconds (fields 14 and 15 of /proc/PID/stat).
    static func cpuSeconds(pid: Int64) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name, which is in parentheses and may contain spaces.
        guard let close = stat.lastIndex(of: ")") else { throw ValidationError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw ValidationError("unreadable /proc/\(pid)/stat")
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func residentKB(pid: Int64) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else {
            throw ValidationError("no VmRSS in /proc/\(pid)/status")
        }
        return kb
    }

    private func report(_ m: Measurement, workers: (workers: Int, engineThreads: Int)?) {
        let sorted = m.milliseconds.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)] }
        let mean = sorted.reduce(0, +) / Double(sorted.count)
        let growth = Double(m.rssFinalKB - m.rssBaselineKB) / Double(max(1, m.rssBaselineKB)) * 100
        let result = m.lastReply["result"]
        if json {
            let object: JSONValue = [
                "image": .string(image), "width": result?["width"] ?? .null, "height": result?["height"] ?? .null,
                "count": .int(Int64(count)), "fast_png": .bool(fast), "denoise": .bool(denoise), "bytes": result?["bytes"] ?? .null,
                "omp_wait_policy": .string(ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] ?? "default"), "p50_ms": .double(percentile(0.5)), "p90_ms": .double(percentile(0.9)),
                "p99_ms": .double(percentile(0.99)), "mean_ms": .double(mean), "min_ms": .double(sorted[0]),
                "server_cpu_ms_per_restore": .double(m.cpuMillisecondsPerRestore),
                "rss_after_\(baseline)_kb": .int(Int64(m.rssBaselineKB)), "rss_after_\(count)_kb": .int(Int64(m.rssFinalKB)),
                "rss_growth_percent": .double(growth), "pid": .int(m.pid),
                "decode_workers": workers.map { .int(Int64($0.workers)) } ?? .null,
                "engine_threads": workers.map { .int(Int64($0.engineThreads)) } ?? .null,
            ]
            print(object.description)
            return
        }
        print("restore \(image) (\(result?["width"]?.intValue ?? 0)×\(result?["height"]?.intValue ?? 0), \(result?["mode"]?.stringValue ?? "?")) over \(socket ?? "an in-process server"), \(count) times, "
              + "\(result?["bytes"]?.intValue ?? 0) B PNG\(fast ? " (fast)" : "")\(denoise ? ", denoised" : ""), OMP_WAIT_POLICY=\(ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] ?? "default")"
              + (workers.map { "; \($0.workers) decode worker(s) × \($0.engineThreads) engine thread(s)" } ?? ""))
        print(String(format: "  latency ms: p50 %.1f  p90 %.1f  p99 %.1f  mean %.1f  min %.1f", percentile(0.5), percentile(0.9), percentile(0.99), mean, sorted[0]))
        print(String(format: "  server CPU per restore: %.1f ms (user + system)", m.cpuMillisecondsPerRestore))
        print(String(format: "  RSS of pid %lld: %.1f MB after %d, %.1f MB after %d (%+.1f %%)", m.pid,
                     Double(m.rssBaselineKB) / 1024, baseline, Double(m.rssFinalKB) / 1024, count, growth))
    }

    private static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}

/// A control server in this process over a scratch catalog of the given archives: the daemon's
/// `DaemonControlHandler` (for `status`) in front of `CollectionCommands`.
private final class InProcessServer {
    let folder: String
    let socketPath: String
    let commands: CollectionCommands
    private let server: ControlServer

    init(archives: [String], threads: Int) async throws {
        var template = Array("/tmp/nacre-bench-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw ValidationError("cannot create a scratch folder in /tmp")
        }
        folder = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let yaml = """
            spools: [{name: bench, inbox: inbox}]
            archive_dir: archives
            state_dir: state
            quarantine_dir: quarantine
            restore_roots: [restore]
            socket: {path: bench.sock}
            encode: {threads: \(threads)}
            """
        let config = try DaemonConfig.parse(yaml: yaml, configPath: folder + "/nacre.yaml")
        for path in [config.stateDir] + config.restoreRoots {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        var logger = Logger(label: "nacre.bench")
        logger.logLevel = .warning
        let indexed = ArchiveIndexer.read(archives: archives.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        if let problem = indexed.problems.first { throw ValidationError("\(problem.archive): \(problem.reason)") }
        let catalog = try Catalog(path: config.catalogPath, options: Catalog.Options(synchronous: .normal), logger: logger)
        try await catalog.rebuild(from: indexed.summaries)
        commands = CollectionCommands(catalog: catalog, config: config, logger: logger)
        server = try ControlServer(socket: config.socket,
                                   handler: DaemonControlHandler(state: DaemonState(config: config, version: NacreVersion.string),
                                                                 pipeline: CommandForwardingPipeline(commands: commands, label: "bench")),
                                   logger: logger)
        try server.start()
        socketPath = config.socket.path
    }

    func stop() {
        server.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
