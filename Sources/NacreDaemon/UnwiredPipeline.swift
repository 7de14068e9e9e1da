import Logging
import ServiceLifecycle
import Synchronization

/// A stand-in pipeline for the daemon's infrastructure tests (socket, service, reload), which
/// need no model or catalog: it leaves spool files where they are (logging that it does), and
/// answers every command but `status` with `not_available`. Nothing is faked: `status` says
/// `"pipeline": "not_wired"`. `nacre daemon` runs ``IngestPipeline``.
public final class UnwiredPipeline: DaemonPipeline {
    private let logger: Logger
    private let seen = Mutex<(ready: Int, rejected: Int)>((0, 0))

    public init(logger: Logger) {
        self.logger = logger
    }

    public func run() async throws {
        // Nothing to drive; wait for the service to stop.
        try? await gracefulShutdown()
    }

    public func ingest(_ event: SpoolEvent) async {
        switch event {
        case .ready(let file):
            seen.withLock { $0.ready += 1 }
            logger.info("spool file ready; pipeline not wired in this build, leaving it in the inbox",
                        metadata: ["spool": "\(file.spool)", "name": "\(file.name)"])
        case .rejected(let file, let reason):
            seen.withLock { $0.rejected += 1 }
            logger.warning("spool entry rejected; pipeline not wired in this build, not quarantined",
                           metadata: ["spool": "\(file.spool)", "name": "\(file.name)", "reason": "\(reason)"])
        }
    }

    public func apply(_ config: DaemonConfig) async {}

    public func statusFields() async -> [String: JSONValue] {
        let counts = seen.withLock { $0 }
        return ["pipeline": "not_wired", "spool_ready_seen": .int(Int64(counts.ready)),
                "spool_rejected_seen": .int(Int64(counts.rejected))]
    }

    public func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        throw ControlError.notAvailable(request.command.rawValue)
    }
}
