import Foundation
import GRDB

/// Where an archive is in its life. Its images are listed only once it is `indexed`.
public enum ArchiveState: String, Codable, Sendable, CaseIterable {
    /// The batch is being written under a temporary name.
    case open
    /// Index and trailer written, fsynced and renamed; not yet verified.
    case sealed
    /// Re-opened and every image decoded and checked.
    case verified
    /// Its images are in the catalog.
    case indexed
    /// A later `verify` found damage; intact images stay listed.
    case damaged
}

/// One `.nacre` archive file.
public struct ArchiveRecord: CatalogRecord, Hashable {
    public static let databaseTableName = "archives"

    /// A stable id chosen when the batch opens; by convention the file name without `.nacre`, so
    /// `nacre reindex` recovers the same id and ingest rows keep pointing at it.
    public var id: String
    /// Absolute path of the sealed archive file.
    public var path: String
    public var fileName: String
    /// Size of the archive file in bytes (decoder included).
    public var bytes: Int64
    /// The model (decoder) stored in this archive.
    public var modelID: String
    public var createdAt: Date
    public var sealedAt: Date?
    public var verifiedAt: Date?
    public var state: ArchiveState

    public init(id: String, path: String, fileName: String? = nil, bytes: Int64, modelID: String,
                createdAt: Date = Date(), sealedAt: Date? = nil, verifiedAt: Date? = nil, state: ArchiveState) {
        self.id = id
        self.path = path
        self.fileName = fileName ?? URL(fileURLWithPath: path).lastPathComponent
        self.bytes = bytes
        self.modelID = modelID
        self.createdAt = createdAt
        self.sealedAt = sealedAt
        self.verifiedAt = verifiedAt
        self.state = state
    }
}
