/// The seam between the daemon's infrastructure and the ingest pipeline (claim → encode →
/// archive → verify → index → delete), which lives with the codec, archive and catalog.
///
/// ``NacreDaemonService`` calls these methods; an implementation must be safe to call
/// concurrently (typically an actor).
public protocol DaemonPipeline: Sendable {
    /// Long-running work: recovery at start, the batch-age timer, the re-training schedule.
    /// Runs inside the service's task, so swift-service-lifecycle's `gracefulShutdown()` /
    /// `withGracefulShutdownHandler` work here: on SIGTERM finish or park the current work and
    /// return. Throwing stops the daemon.
    func run() async throws

    /// One spool event, in arrival order. For `.ready`, claim the file (move it out of the
    /// inbox); if it cannot be claimed now, call ``SpoolWatcher/forget(_:)`` to have it
    /// reported again. For `.rejected`, move it to quarantine with the reason.
    func ingest(_ event: SpoolEvent) async

    /// The reloaded configuration (restart-only settings keep their old values).
    func apply(_ config: DaemonConfig) async

    /// Fields merged into the `status` reply: queue depth, open batch, current model, ...
    func statusFields() async -> [String: JSONValue]

    /// Every control command except `status`. Throw ``ControlError`` (e.g.
    /// ``ControlError/notAvailable(_:)``) for commands it does not serve.
    func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue
}
