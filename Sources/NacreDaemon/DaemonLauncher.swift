import Logging
import ServiceLifecycle

/// Starts the daemon as `nacre daemon --config FILE` does: loads the config, builds the
/// pipeline, and runs the service in a `ServiceGroup` that shuts down gracefully on SIGTERM and
/// SIGINT.
public enum DaemonLauncher {
    /// Builds the pipeline once the config is loaded; the default leaves files in place.
    public typealias PipelineFactory = @Sendable (DaemonConfig, Logger) throws -> any DaemonPipeline

    /// Runs until SIGTERM/SIGINT. Throws ``DaemonError`` for config or start-up failures.
    public static func run(config: DaemonConfig, version: String, logger: Logger,
                           makePipeline: PipelineFactory = { UnwiredPipeline(logger: $1) }) async throws {
        let pipeline = try makePipeline(config, logger)
        let service = try NacreDaemonService(config: config, version: version, pipeline: pipeline, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                             failureTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// The swift-log level for a config's `log_level` (validated at load).
    public static func logLevel(_ config: DaemonConfig) -> Logger.Level {
        Logger.Level(rawValue: config.logLevel) ?? .info
    }
}
