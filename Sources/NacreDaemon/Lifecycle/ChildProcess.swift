#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A `nacre` subcommand run by the daemon in a child process at the lowest CPU priority
/// (`nice 19`, OpenMP threads limited), so ingest keeps its cores and a crash of the child never
/// touches the daemon. Its stdout and stderr go to files (the caller reads the verdict or the
/// log's tail from them).
final class ChildProcess: Sendable {
    /// How a child ended.
    struct Exit: Sendable, Equatable {
        /// Exit status, or the signal number when `signalled`.
        var status: Int32
        var signalled: Bool
        var succeeded: Bool { status == 0 && !signalled }
        var description: String { signalled ? "killed by signal \(status)" : "exit status \(status)" }
    }

    /// Set once by the termination handler (on Foundation's thread), read by ``wait()``.
    private final class ExitBox: Sendable {
        let value = Mutex<Exit?>(nil)
    }

    private let process: Mutex<Process?>
    private let exit = ExitBox()
    let arguments: [String]

    /// Starts `nacre ARGUMENTS…` (the daemon's own executable); stdout to `stdoutPath`, stderr
    /// to `stderrPath` (appended). Throws when the process cannot be started.
    init(arguments: [String], threads: Int, stdoutPath: String, stderrPath: String) throws {
        self.arguments = arguments
        let process = Process()
        let nacre = Self.executablePath
        // chrt(1) sets SCHED_IDLE before exec, so every thread the child creates inherits it: the
        // child then only uses CPU time ingest leaves idle. nice 19 alone let it hold a core for
        // its time slice whenever the encoder's OpenMP threads woke (ingest ran 20 % slower).
        if Self.idlePolicyAvailable {
            process.executableURL = URL(fileURLWithPath: Self.chrtPath)
            process.arguments = ["--idle", "0", nacre] + arguments
        } else if FileManager.default.isExecutableFile(atPath: Self.nicePath) {
            process.executableURL = URL(fileURLWithPath: Self.nicePath)
            process.arguments = ["-n", "19", nacre] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: nacre)
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = String(max(1, threads))
        environment["OMP_WAIT_POLICY"] = "passive"
        environment["NOTIFY_SOCKET"] = nil
        process.environment = environment
        for path in [stdoutPath, stderrPath] where !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        guard let out = FileHandle(forWritingAtPath: stdoutPath), let err = FileHandle(forWritingAtPath: stderrPath) else {
            throw LifecycleError(.childProcess, "cannot open \(stdoutPath) or \(stderrPath) for the child's output")
        }
        out.truncateFile(atOffset: 0)
        err.seekToEndOfFile()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exit = self.exit
        process.terminationHandler = { finished in
            exit.value.withLock { $0 = Exit(status: finished.terminationStatus, signalled: finished.terminationReason == .uncaughtSignal) }
        }
        do {
            try process.run()
        } catch {
            throw LifecycleError(.childProcess, "cannot start \(nacre) \(arguments.first ?? ""): \(error)")
        }
        try? out.close()
        try? err.close()
        if ![Self.chrtPath, Self.nicePath].contains(process.executableURL?.path) {
            // Without nice(1): lower the main thread now; threads it creates later inherit it.
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(process.processIdentifier), 19)
        }
        self.process = Mutex(process)
    }

    /// Waits for the child to end (polling, so a cancelled waiter does not leak a continuation).
    func wait() async -> Exit {
        while true {
            if let exit = exit.value.withLock({ $0 }) { return exit }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Asks the child to stop (SIGTERM: the trainer finishes its step and checkpoints).
    func terminate() {
        process.withLock { process in
            if let process, process.isRunning { kill(process.processIdentifier, SIGTERM) }
        }
    }

    var pid: Int32 { process.withLock { $0?.processIdentifier ?? 0 } }

    static let chrtPath = "/usr/bin/chrt"

    /// Whether `chrt --idle 0` works here (a container's policy may refuse SCHED_IDLE): tried
    /// once, on `/bin/true`.
    static let idlePolicyAvailable: Bool = {
        guard FileManager.default.isExecutableFile(atPath: chrtPath) else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: chrtPath)
        probe.arguments = ["--idle", "0", "/bin/true"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()
    static let nicePath = "/usr/bin/nice"

    /// The running daemon's own executable (`nacre`).
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The last `bytes` of a log file, for an error message.
    static func tail(of path: String, bytes: Int = 600) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data.suffix(bytes), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
