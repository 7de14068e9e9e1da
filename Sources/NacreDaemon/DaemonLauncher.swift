import Logging
import NacreCatalog
import ServiceLifecycle

/// Starts the daemon as `nacre daemon --config FILE` does: loads the config, opens the catalog,
/// builds the ingest pipeline, and runs the service in a `ServiceGroup` that shuts down
/// gracefully on SIGTERM and SIGINT.
public enum DaemonLauncher {
    /// Builds the handler of the collection commands (`list`, `search`, `info`, `restore`,
    /// `verify`, `stats`, `models`) on the daemon's one catalog.
    public typealias CommandsFactory = @Sendable (Catalog, DaemonConfig, Logger) throws -> any ControlHandler

    /// Runs until SIGTERM/SIGINT. Throws ``DaemonError`` for config or start-up failures, and
    /// the catalog's or pipeline's error when those cannot start (e.g. no model).
    public static func run(config: DaemonConfig, version: String, logger: Logger,
                           makeCommands: CommandsFactory = { CollectionCommands(catalog: $0, config: $1, logger: $2) }) async throws {
        // The catalog's folder must exist before the catalog opens.
        try NacreDaemonService.prepareFolders(config, logger: logger)
        let catalog = try Catalog(path: config.catalogPath, logger: logger)
        let pipeline = IngestPipeline(config: config, catalog: catalog, commands: try makeCommands(catalog, config, logger),
                                      version: version, logger: logger)
        let service = try NacreDaemonService(config: config, version: version, pipeline: pipeline, logger: logger)
        await pipeline.attach(watcher: service.spoolWatcher)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                             failureTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        // Fold the WAL into the database on a clean stop (a crash needs nothing: WAL replays).
        do { try await catalog.checkpoint() } catch { logger.warning("catalog checkpoint at stop failed: \(error)") }
    }

    /// The swift-log level for a config's `log_level` (validated at load).
    public static func logLevel(_ config: DaemonConfig) -> Logger.Level {
        Logger.Level(rawValue: config.logLevel) ?? .info
    }
}
