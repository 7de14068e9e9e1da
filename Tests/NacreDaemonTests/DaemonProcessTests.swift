#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreTestSupport
import Testing
@testable import NacreDaemon

private let nacreExecutable = NacreExecutable.path

/// Real processes: `nacre daemon` started, reloaded with SIGHUP, stopped with SIGTERM, and
/// `nacre ctl` exit statuses.
@Suite("Daemon process", .serialized, .enabled(if: nacreExecutable != nil, "the nacre executable is not built (run `swift build` first)"))
struct DaemonProcessTests {
    private struct Running {
        let folder: TemporaryFolder
        let process: Process
        let notify: NotifyReceiver
        var configPath: String { folder.sub("nacre.yaml") }
        var socketPath: String { folder.sub("s.sock") }
        var log: String { (try? String(contentsOfFile: folder.sub("daemon.log"), encoding: .utf8)) ?? "" }

        func status() async -> JSONValue? { await statusReply().result }

        /// The status result, or why there is none (for the failure message).
        func statusReply() async -> (result: JSONValue?, problem: String) {
            let path = socketPath
            let outcome: Result<JSONValue, any Error> = await offPool {
                Result { try ControlClient(path: path, timeout: 10).send(ControlRequest(command: .status)) }
            }
            switch outcome {
            case .success(let reply): return (reply["result"], reply["result"] == nil ? "reply without a result: \(reply)" : "")
            case .failure(let error): return (nil, "\(error)")
            }
        }
    }

    private func startDaemon(yaml: String) throws -> Running {
        let folder = TemporaryFolder()
        chmod(folder.path, 0o755)  // lets the setpriv test's unprivileged client reach the socket
        try yaml.write(toFile: folder.sub("nacre.yaml"), atomically: true, encoding: .utf8)
        let notify = try NotifyReceiver(address: folder.sub("notify"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nacreExecutable!)
        process.arguments = ["daemon", "--config", folder.sub("nacre.yaml")]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.address
        environment["WATCHDOG_USEC"] = "600000"
        environment["WATCHDOG_PID"] = nil
        process.environment = environment
        _ = FileManager.default.createFile(atPath: folder.sub("daemon.log"), contents: nil)
        let log = FileHandle(forWritingAtPath: folder.sub("daemon.log"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return Running(folder: folder, process: process, notify: notify)
    }

    /// Waits for the process to exit; `nil` if it did not within `timeout`.
    private func exitStatus(_ process: Process, timeout: Double) async -> Int32? {
        guard await eventually(timeout: timeout, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    private func runCtl(_ arguments: [String], asNobody: Bool = false) async throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        if asNobody {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid", "65534", "--regid", "65534", "--clear-groups", nacreExecutable!, "ctl"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: nacreExecutable!)
            process.arguments = ["ctl"] + arguments
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        let status = await exitStatus(process, timeout: 30) ?? -1
        return (status, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test func startReloadAndGracefulStop() async throws {
        let daemon = try startDaemon(yaml: testConfigYAML())
        defer { daemon.folder.remove() }
        defer { if daemon.process.isRunning { daemon.process.terminate() } }

        let startup = await offPool { daemon.notify.receive(until: "READY=1", timeout: 30) }
        #expect(startup.last?.contains("READY=1") == true, "no READY=1; log:\n\(daemon.log)")
        let status = try #require(await daemon.status(), "no status reply; log:\n\(daemon.log)")
        #expect(status["pid"] == .int(Int64(daemon.process.processIdentifier)))
        #expect(status["reloads"] == 0)
        let watchdog = await offPool { daemon.notify.receive(until: "WATCHDOG=1", timeout: 5) }
        #expect(watchdog.last == "WATCHDOG=1")

        // Nobody reads the notify socket for a while, so its queue (10 datagrams here) fills with
        // watchdog pings. The daemon must go on answering and reloading: a blocking send on the
        // cooperative pool once stalled both (session 8) until the receiver read again.
        try await Task.sleep(for: .seconds(4))

        // A valid change: a second spool. Its inbox is created and watched.
        try testConfigYAML(extraSpools: "  - {name: second, inbox: inbox2}")
            .write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(await eventually(timeout: 10) { FileManager.default.fileExists(atPath: daemon.folder.sub("inbox2")) })
        #expect(await eventually(timeout: 10) { await daemon.status()?["reloads"] == 1 })
        let reloaded = try #require(await daemon.status())
        #expect(reloaded["spools"]?.arrayValue?.count == 2)

        // An invalid file: logged, reported in status, the running config stays.
        try (testConfigYAML() + "\nbogus_key: 1").write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(await eventually(timeout: 10) { await daemon.status()?["last_reload_error"] != nil },
                "log:\n\(daemon.log)")
        let keptReply = await daemon.statusReply()
        let kept = try #require(keptReply.result, "no status: \(keptReply.problem); log:\n\(daemon.log)")
        #expect(kept["reloads"] == 1)
        #expect(kept["spools"]?.arrayValue?.count == 2)
        #expect(kept["last_reload_error"]?.stringValue?.contains("bogus_key") == true)

        kill(daemon.process.processIdentifier, SIGTERM)
        let stopping = await offPool { daemon.notify.receive(until: "STOPPING=1", timeout: 10) }
        #expect(stopping.contains { $0.hasPrefix("STOPPING=1") })
        let exit = await exitStatus(daemon.process, timeout: 15)
        #expect(exit == 0, "log:\n\(daemon.log)")
        #expect(daemon.process.terminationReason == .exit)
        #expect(access(daemon.socketPath, F_OK) != 0, "the socket file is removed on a clean stop")
    }

    @Test func ctlExitStatusesAndRefusedUID() async throws {
        let daemon = try startDaemon(yaml: testConfigYAML(socketMode: "0666"))
        defer { daemon.folder.remove() }
        defer { if daemon.process.isRunning { daemon.process.terminate() } }
        _ = await offPool { daemon.notify.receive(until: "READY=1", timeout: 30) }

        let ok = try await runCtl(["--socket", daemon.socketPath, "status"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("pid: \(daemon.process.processIdentifier)"))

        let json = try await runCtl(["--config", daemon.configPath, "--json", "status"])
        #expect(json.status == 0)
        let parsed = try JSONValue.parse(Array(json.stdout.utf8))
        #expect(parsed["ok"] == true)

        let listed = try await runCtl(["--socket", daemon.socketPath, "list"])
        #expect(listed.status == 0, "\(listed.stderr)")

        let unwired = try await runCtl(["--socket", daemon.socketPath, "retrain"])
        #expect(unwired.status == 1)
        #expect(unwired.stderr.contains("not_available"))

        let usage = try await runCtl(["--socket", daemon.socketPath, "frobnicate"])
        #expect(usage.status == 2)

        let nowhere = try await runCtl(["--socket", daemon.folder.sub("missing.sock"), "status"])
        #expect(nowhere.status == 3)

        if getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            let refused = try await runCtl(["--socket", daemon.socketPath, "status"], asNobody: true)
            #expect(refused.status == 1, "\(refused.stderr)")
            #expect(refused.stderr.contains("permission_denied"), "\(refused.stderr)")
        }

        kill(daemon.process.processIdentifier, SIGTERM)
        #expect(await exitStatus(daemon.process, timeout: 15) == 0)
    }

    @Test func secondDaemonOnTheSameSocketIsRefused() async throws {
        let daemon = try startDaemon(yaml: testConfigYAML())
        defer { daemon.folder.remove() }
        defer { if daemon.process.isRunning { daemon.process.terminate() } }
        _ = await offPool { daemon.notify.receive(until: "READY=1", timeout: 30) }

        let second = Process()
        second.executableURL = URL(fileURLWithPath: nacreExecutable!)
        second.arguments = ["daemon", "--config", daemon.configPath]
        second.standardError = FileHandle.nullDevice
        second.standardOutput = FileHandle.nullDevice
        try second.run()
        #expect(await exitStatus(second, timeout: 15) == 1)
        #expect(await daemon.status() != nil, "the first daemon still serves")

        kill(daemon.process.processIdentifier, SIGTERM)
        #expect(await exitStatus(daemon.process, timeout: 15) == 0)
    }

    @Test func invalidConfigExitsWithEXConfig() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        try "spools: []\n".write(toFile: folder.sub("bad.yaml"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nacreExecutable!)
        process.arguments = ["daemon", "--config", folder.sub("bad.yaml")]
        process.standardError = FileHandle.nullDevice
        try process.run()
        #expect(await exitStatus(process, timeout: 15) == 78)
    }
}
