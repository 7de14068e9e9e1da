#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon as a swift-service-lifecycle `Service`: creates the configured folders, serves the
/// control socket, watches the spools and feeds the ``DaemonPipeline``; reloads the config on
/// SIGHUP; talks to systemd through ``SDNotify``.
///
/// Stop sequence on graceful shutdown (SIGTERM/SIGINT via the `ServiceGroup`): `STOPPING=1`,
/// stop the spool watcher (no new work), wait for the pipeline's `run()` to park its work, then
/// close the control socket (so `status` keeps answering while the pipeline drains). The
/// watchdog keeps pinging until the very end, so a long drain is bounded by systemd's
/// `TimeoutStopSec`, not the watchdog.
public final class NacreDaemonService: Service, Sendable {
    public let state: DaemonState
    private let pipeline: any DaemonPipeline
    private let notify: SDNotify
    private let logger: Logger
    private let watcher: SpoolWatcher
    private let server: ControlServer

    public init(config: DaemonConfig, version: String, pipeline: any DaemonPipeline, notify: SDNotify = SDNotify(),
                logger: Logger) throws(DaemonError) {
        self.state = DaemonState(config: config, version: version)
        self.pipeline = pipeline
        self.notify = notify
        self.logger = logger
        self.watcher = try SpoolWatcher(spools: config.spools, watch: config.watch, logger: logger)
        self.server = try ControlServer(socket: config.socket,
                                        handler: DaemonControlHandler(state: state, pipeline: pipeline),
                                        logger: logger)
    }

    /// The watcher, for a pipeline that needs ``SpoolWatcher/forget(_:)``.
    public var spoolWatcher: SpoolWatcher { watcher }

    public func run() async throws {
        let config = state.config
        try Self.prepareFolders(config, logger: logger)
        try server.start()
        do {
            try watcher.start()
            // Trap SIGHUP before READY=1, so an early `systemctl reload` cannot kill the process.
            let hangups = await UnixSignalsSequence(trapping: .sighup)
            notify.ready(status: readyStatus(config))
            logger.info("nacre daemon ready", metadata: ["pid": "\(getpid())", "config": "\(config.configPath)"])
            try await withThrowingTaskGroup(of: Void.self) { auxiliary in
                auxiliary.addTask { await self.reloadOnHangup(hangups) }
                if let interval = notify.watchdogInterval {
                    auxiliary.addTask { await self.pingWatchdog(every: interval) }
                }
                try await runMain()
                auxiliary.cancelAll()
            }
        } catch {
            await Self.offPool { self.watcher.stop() }
            await Self.offPool { self.server.stop() }
            throw error
        }
        await Self.offPool { self.server.stop() }
        logger.info("nacre daemon stopped")
    }

    /// The work that must drain on shutdown: spool events into the pipeline, and the pipeline.
    private func runMain() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in self.watcher.events { await self.pipeline.ingest(event) }
            }
            group.addTask { try await self.pipeline.run() }
            group.addTask {
                try await gracefulShutdown()
                self.logger.info("graceful shutdown: no new spool files; letting the pipeline park its work")
                self.notify.stopping()
                await Self.offPool { self.watcher.stop() }
            }
            // Not waitForAll(): it waits for every task even after one failed, and the spool feed
            // and the shutdown watcher only end with a stop, so a failed pipeline would leave the
            // daemon up and idle. The first error cancels the rest.
            do {
                while try await group.next() != nil {}
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    private func reloadOnHangup(_ hangups: UnixSignalsSequence) async {
        for await _ in hangups {
            await reload()
        }
    }

    /// Pings from the task pool (so a starved or deadlocked pool stops the pings), and only while
    /// the spool watcher thread is turning: a stuck daemon gets restarted by systemd.
    private func pingWatchdog(every interval: Duration) async {
        let stuckAfter = max(30, 2 * SpoolWatcher.maxWaitSeconds)
        while !Task.isCancelled {
            let idle = watcher.secondsSinceLastLoop
            if idle < stuckAfter {
                notify.watchdog()
            } else {
                logger.critical("spool watcher stuck for \(Int(idle)) s; withholding the watchdog ping")
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Re-reads the config file. An invalid file is logged and the current config stays in
    /// force. Settings that need a restart keep their old values (and are logged).
    /// Returns whether the new file was applied.
    @discardableResult
    public func reload() async -> Bool {
        notify.reloading()
        defer { notify.ready(status: readyStatus(state.config)) }
        let current = state.config
        let loaded: DaemonConfig
        do {
            loaded = try DaemonConfig.load(path: current.configPath)
        } catch {
            logger.error("config reload failed; keeping the current configuration: \(error)")
            state.recordReloadFailure(error.description)
            return false
        }
        let needRestart = current.restartRequiredChanges(to: loaded)
        if !needRestart.isEmpty {
            logger.warning("config changes that take effect only after a restart: \(needRestart.joined(separator: ", "))")
        }
        let applied = current.applyingReloadable(from: loaded)
        do {
            try Self.prepareFolders(applied, logger: logger)
        } catch {
            logger.error("config reload failed; keeping the current configuration: \(error)")
            state.recordReloadFailure(error.description)
            return false
        }
        state.recordReload(applied)
        watcher.reconfigure(spools: applied.spools, watch: applied.watch)
        server.update(applied.socket)
        await pipeline.apply(applied)
        logger.info("configuration reloaded", metadata: ["config": "\(applied.configPath)"])
        return true
    }

    private func readyStatus(_ config: DaemonConfig) -> String {
        "watching \(config.spools.count) inbox\(config.spools.count == 1 ? "" : "es")"
    }

    /// Runs a blocking stop (which joins threads) on its own thread, keeping the cooperative pool
    /// free for control handlers still in flight.
    private static func offPool(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                work()
                continuation.resume()
            }.start()
        }
    }

    /// Creates every folder the daemon reads or writes (mode 0750) if missing.
    static func prepareFolders(_ config: DaemonConfig, logger: Logger) throws(DaemonError) {
        var folders = config.spools.map(\.inbox) + [config.archiveDir, config.quarantineDir, config.stateDir]
        folders += config.restoreRoots + [PathResolver.parentFolder(of: config.catalogPath), PathResolver.parentFolder(of: config.socket.path)]
        if case .move(let done) = config.originals { folders.append(done) }
        for folder in folders where !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o750])
                logger.info("created folder", metadata: ["path": "\(folder)"])
            } catch {
                throw DaemonError(code: .systemCall, message: "cannot create folder \(folder): \(error.localizedDescription)")
            }
        }
    }
}
