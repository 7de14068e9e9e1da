import Foundation
import GRDB

/// One file taken from a spool, tracked through the pipeline until its original is gone.
public struct IngestRecord: CatalogRecord, Hashable {
    public static let databaseTableName = "ingest"

    /// Row id, assigned on claim.
    public var id: Int64?
    /// Name of the spool (inbox) the file came from.
    public var spool: String
    /// Path of the file in the inbox when it was found.
    public var originalPath: String
    /// Path in the processing folder after the claim (the daemon should pick a name it controls,
    /// such as `<ingest id>.png`). Unique among rows that are not final.
    public var claimedPath: String
    public var state: IngestState
    /// The batch (archive id) the image was appended to; cleared when rolled back to `claimed`.
    public var batchID: String?
    /// Why the file was quarantined, or the last error seen.
    public var errorReason: String?
    public var claimedAt: Date
    public var updatedAt: Date
    /// File size in bytes when claimed.
    public var size: Int64
    /// File modification time when claimed.
    public var mtime: Date
    /// Lower-case hex SHA-256 of the file, once computed.
    public var sha256: String?

    public init(id: Int64? = nil, spool: String, originalPath: String, claimedPath: String,
                state: IngestState = .claimed, batchID: String? = nil, errorReason: String? = nil,
                claimedAt: Date = Date(), updatedAt: Date? = nil, size: Int64, mtime: Date, sha256: String? = nil) {
        self.id = id
        self.spool = spool
        self.originalPath = originalPath
        self.claimedPath = claimedPath
        self.state = state
        self.batchID = batchID
        self.errorReason = errorReason
        self.claimedAt = claimedAt
        self.updatedAt = updatedAt ?? claimedAt
        self.size = size
        self.mtime = mtime
        self.sha256 = sha256
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
