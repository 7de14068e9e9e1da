import Foundation
import GRDB

/// One training crop kept in the re-training reservoir (a lossless file under the state folder).
public struct ReservoirCropRecord: CatalogRecord, Hashable {
    public static let databaseTableName = "reservoir"

    public var id: Int64?
    /// Path of the crop file. Unique.
    public var path: String
    /// SHA-256 of the original image the crop was cut from.
    public var sourceSHA256: String
    /// Held back for the gate's validation, never trained on.
    public var heldBack: Bool
    public var addedAt: Date

    public init(id: Int64? = nil, path: String, sourceSHA256: String, heldBack: Bool, addedAt: Date = Date()) {
        self.id = id
        self.path = path
        self.sourceSHA256 = sourceSHA256
        self.heldBack = heldBack
        self.addedAt = addedAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
