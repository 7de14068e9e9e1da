import Foundation
import GRDB
import Logging

/// A line of the catalog's event log: quarantines, seals, verify failures, promotions…
public struct EventRecord: CatalogRecord, Hashable {
    public static let databaseTableName = "events"

    public var id: Int64?
    public var time: Date
    /// Severity, using swift-log's levels.
    public var level: Logger.Level
    /// A short dotted machine-readable kind, e.g. `ingest.quarantined`, `archive.sealed`.
    public var kind: String
    public var message: String
    /// What it is about: an image name, an archive id, a file path, a model id.
    public var subject: String?

    public init(id: Int64? = nil, time: Date = Date(), level: Logger.Level, kind: String, message: String,
                subject: String? = nil) {
        self.id = id
        self.time = time
        self.level = level
        self.kind = kind
        self.message = message
        self.subject = subject
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
