import GRDB

// Shared insert/update/fetch plumbing for every record type.
extension Catalog {
    /// Inserts `record` and returns it with its assigned id.
    func insert<Record: CatalogRecord>(_ record: Record, _ action: String) async throws -> Record {
        try await write(action) { db in
            var copy = record
            try copy.insert(db)
            return copy
        }
    }

    /// Replaces every column of an existing row; `.notFound` if there is none.
    func update<Record: CatalogRecord>(_ record: Record, _ action: String) async throws {
        try await write(action) { db in try record.update(db) }
    }

    /// Registers a model id met in an archive if the catalog does not know it yet.
    /// Returns whether it was added.
    @discardableResult
    static func registerModelIfUnknown(_ db: Database, id: String, seenAt: ArchiveRecord) throws -> Bool {
        if try ModelRecord.exists(db, key: id) { return false }
        var model = ModelRecord(id: id, createdAt: seenAt.createdAt, role: .retired)
        try model.insert(db)
        return true
    }
}
