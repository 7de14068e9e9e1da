#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// What the daemon knows about itself: the config in force, start time, reload history.
/// Shared by the service (writer) and the `status` handler (reader).
public final class DaemonState: Sendable {
    private struct Values {
        var config: DaemonConfig
        var reloads = 0
        var lastReloadError: String?
    }

    public let version: String
    public let startedAt: Date
    private let startedMonotonic: Double
    private let values: Mutex<Values>

    public init(config: DaemonConfig, version: String) {
        self.version = version
        self.startedAt = Date()
        self.startedMonotonic = SocketIO.now()
        self.values = Mutex(Values(config: config))
    }

    public var config: DaemonConfig { values.withLock { $0.config } }
    public var uptimeSeconds: Double { SocketIO.now() - startedMonotonic }

    func recordReload(_ config: DaemonConfig) {
        values.withLock {
            $0.config = config
            $0.reloads += 1
            $0.lastReloadError = nil
        }
    }

    func recordReloadFailure(_ message: String) {
        values.withLock { $0.lastReloadError = message }
    }

    /// The daemon's own part of the `status` reply.
    public func statusFields() -> [String: JSONValue] {
        let snapshot = values.withLock { $0 }
        var fields: [String: JSONValue] = [
            "version": .string(version),
            "pid": .int(Int64(getpid())),
            "uptime_seconds": .double((uptimeSeconds * 1000).rounded() / 1000),
            "started_at": .string(ISO8601DateFormatter().string(from: startedAt)),
            "config_path": .string(snapshot.config.configPath),
            "reloads": .int(Int64(snapshot.reloads)),
            "spools": .array(snapshot.config.spools.map { ["name": .string($0.name), "inbox": .string($0.inbox)] }),
        ]
        if let error = snapshot.lastReloadError { fields["last_reload_error"] = .string(error) }
        return fields
    }
}
