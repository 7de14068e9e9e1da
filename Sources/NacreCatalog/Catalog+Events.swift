import Foundation
import GRDB
import Logging

extension Catalog {
    /// Appends an event and returns it with its id.
    @discardableResult
    public func appendEvent(_ event: EventRecord) async throws -> EventRecord {
        try await insert(event, "Recording event \(event.kind)")
    }

    /// Appends an event stamped now.
    @discardableResult
    public func appendEvent(level: Logger.Level, kind: String, message: String, subject: String? = nil) async throws -> EventRecord {
        try await appendEvent(EventRecord(level: level, kind: kind, message: message, subject: subject))
    }

    /// The latest events, newest first, at `minimumLevel` or above, optionally of one kind.
    public func recentEvents(limit: Int = 50, minimumLevel: Logger.Level = .trace, kind: String? = nil) async throws -> [EventRecord] {
        guard limit > 0 else { return [] }
        let levels = Logger.Level.allCases.filter { $0 >= minimumLevel }.map(\.rawValue)
        return try await read("Reading recent events") { db in
            var request = EventRecord.filter(levels.contains(Column("level")))
            if let kind { request = request.filter(Column("kind") == kind) }
            return try request.order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    /// Deletes events older than `date`; returns how many. Keeps the log bounded.
    @discardableResult
    public func pruneEvents(before date: Date) async throws -> Int {
        try await write("Pruning events") { db in
            try EventRecord.filter(Column("time") < date).deleteAll(db)
        }
    }
}
