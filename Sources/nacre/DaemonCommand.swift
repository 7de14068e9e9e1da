import ArgumentParser
import Foundation
import Logging
import NacreDaemon
import NacreEngine

/// `nacre daemon --config FILE`: runs the archiving daemon in the foreground (systemd or `make run`).
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the archiving daemon: watch the spools, archive what arrives, serve the control socket.",
        discussion: """
            Files dropped into a spool's inbox are claimed, encoded with the configured model (default: \
            the built-in base model) into batch archives, verified, indexed in the catalog, and only then \
            deleted or moved (docs/PIPELINE.md). Stops gracefully on SIGTERM or SIGINT and re-reads the \
            config on SIGHUP. Logs go to stderr. Exit status: 0 after a graceful stop, 78 for an invalid \
            config, 1 when the daemon cannot start (e.g. no model, catalog unusable) or fails.
            """
    )

    @Option(name: .long, help: "The YAML config file (see Config/nacre.yaml).")
    var config: String = "/etc/nacre/nacre.yaml"

    @Flag(name: .long, help: "Only load and validate the config, then exit.")
    var check = false

    func run() async throws {
        // Idle OpenMP threads must sleep, not spin: the daemon shares the machine and idles
        // between files (re-executes itself once with OMP_WAIT_POLICY=passive; same pid).
        if !check {
            _ = Engine.reexecuteWithOpenMPWaitPolicy("passive")
            // Images of many sizes: bounded pooled tensor memory (docs/PIPELINE.md, "Memory").
            Engine.useLongRunningMemoryPolicy()
        }
        let loaded: DaemonConfig
        do {
            loaded = try DaemonConfig.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("nacre daemon: invalid config: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        if check {
            print("config OK: \(loaded.configPath)")
            return
        }
        let level = DaemonLauncher.logLevel(loaded)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "nacre.daemon")
        do {
            try await DaemonLauncher.run(config: loaded, version: NacreVersion.string, logger: logger)
        } catch {
            logger.critical("nacre daemon failed: \(error)")
            throw ExitCode(1)
        }
    }
}
