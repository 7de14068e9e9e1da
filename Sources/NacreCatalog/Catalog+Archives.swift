import Foundation
import GRDB

extension Catalog {
    /// Records an archive before it is indexed (e.g. `open` when a batch starts, then `sealed`).
    @discardableResult
    public func insertArchive(_ archive: ArchiveRecord) async throws -> ArchiveRecord {
        try await write("Recording archive \(archive.id)") { db in
            try Self.registerModelIfUnknown(db, id: archive.modelID, seenAt: archive)
            var copy = archive
            try copy.insert(db)
            return copy
        }
    }

    /// Rewrites a known archive's row (state, times, size). `.notFound` if it is not in the catalog.
    public func updateArchive(_ archive: ArchiveRecord) async throws {
        try await update(archive, "Updating archive \(archive.id)")
    }

    public func archive(id: String) async throws -> ArchiveRecord? {
        try await read("Reading archive \(id)") { db in try ArchiveRecord.fetchOne(db, key: id) }
    }

    /// Archives, newest first, optionally only those in `states`.
    public func archives(in states: Set<ArchiveState>? = nil) async throws -> [ArchiveRecord] {
        try await read("Listing archives") { db in
            var request = ArchiveRecord.order(Column("created_at").desc, Column("id"))
            if let states { request = request.filter(states.map(\.rawValue).contains(Column("state"))) }
            return try request.fetchAll(db)
        }
    }

    /// Indexes a sealed, verified archive in ONE transaction: inserts (or completes) the archive row
    /// with state `indexed`, inserts all its images, and moves its batch's ingest rows
    /// (`batchID == archive.id`, not final) from `verified` to `indexed`.
    ///
    /// If anything fails (a duplicate image name, an ingest row not yet `verified`, a full disk),
    /// nothing of it is written. The images' `archiveID` is set to `archive.id`. An unknown model
    /// id is registered as a `retired` model.
    ///
    /// - Returns: the images with their row ids.
    /// - Throws: `.alreadyExists` if the archive is already indexed or two images share a name,
    ///   `.illegalTransition` if an ingest row of the batch is not `verified`.
    @discardableResult
    public func indexArchive(_ archive: ArchiveRecord, images: [ImageRecord]) async throws -> [ImageRecord] {
        try await write("Indexing archive \(archive.id)") { db in
            var indexed = archive
            indexed.state = .indexed
            try Self.registerModelIfUnknown(db, id: archive.modelID, seenAt: archive)
            if let existing = try ArchiveRecord.fetchOne(db, key: archive.id) {
                guard existing.state != .indexed else {
                    throw CatalogError(code: .alreadyExists,
                                       message: "Archive \(archive.id) is already indexed; nothing was changed. Use `nacre reindex` to rebuild it.")
                }
                try indexed.update(db)
            } else {
                try indexed.insert(db)
            }
            let rows = try Self.insertImages(db, images, archiveID: archive.id)
            let batch = try IngestRecord
                .filter(Column("batch_id") == archive.id)
                .filter(![IngestState.done.rawValue, IngestState.quarantined.rawValue].contains(Column("state")))
                .fetchAll(db)
            for var row in batch {
                try Self.applyTransition(db, &row, from: nil, to: .indexed, batchID: nil, reason: nil)
            }
            return rows
        }
    }

    /// Rebuilds the archive and image rows from archive files alone, in ONE transaction: deletes
    /// every archive and image row, then inserts `archives` (caller-read from the `.nacre` files).
    /// On any error the old rows stay. Models, ingest rows, training runs, reservoir and events are
    /// kept; unknown model ids are registered as `retired`. Image ids change.
    @discardableResult
    public func rebuild(from archives: [ArchiveSummary]) async throws -> RebuildReport {
        try await write("Rebuilding the catalog from \(archives.count) archives") { db in
            try db.execute(sql: "DELETE FROM images; DELETE FROM archives")
            var report = RebuildReport(archiveCount: 0, imageCount: 0, modelsAdded: [])
            for summary in archives {
                if try Self.registerModelIfUnknown(db, id: summary.archive.modelID, seenAt: summary.archive) {
                    report.modelsAdded.append(summary.archive.modelID)
                }
                var archive = summary.archive
                if try ArchiveRecord.exists(db, key: archive.id) {
                    throw CatalogError(code: .alreadyExists,
                                       message: "Two archives have the id \(archive.id) (\(archive.path)); rename one file and reindex. The catalog was not changed.")
                }
                try archive.insert(db)
                report.imageCount += try Self.insertImages(db, summary.images, archiveID: archive.id).count
                report.archiveCount += 1
            }
            return report
        }
    }

    /// Inserts images into an archive; a repeated name becomes an `.alreadyExists` that names it.
    static func insertImages(_ db: Database, _ images: [ImageRecord], archiveID: String) throws -> [ImageRecord] {
        var inserted: [ImageRecord] = []
        inserted.reserveCapacity(images.count)
        for image in images {
            var row = image
            row.id = nil
            row.archiveID = archiveID
            do {
                try row.insert(db)
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw CatalogError(code: .alreadyExists,
                                   message: "Archive \(archiveID) has two images named '\(row.displayName)'; nothing from this archive was indexed. Names must be unique within an archive.",
                                   cause: error)
            }
            inserted.append(row)
        }
        return inserted
    }
}
