import Foundation
import GRDB

// Roll-backs the daemon's crash recovery needs beyond single state transitions.
extension Catalog {
    /// Deletes an ingest row that is still `claimed` because its claim never completed: the file
    /// was not moved into the processing folder (a crash between recording the claim and the
    /// rename, or the file vanished from the inbox first). Returns whether a row was deleted.
    ///
    /// - Throws: `.illegalTransition` if the row has moved past `claimed` (its file is the
    ///   pipeline's then, and the row must be finished or rolled back instead).
    @discardableResult
    public func deleteUnstartedIngest(id: Int64) async throws -> Bool {
        try await write("Deleting unstarted ingest row \(id)") { db in
            guard let row = try IngestRecord.fetchOne(db, key: id) else { return false }
            guard row.state == .claimed else {
                throw CatalogError(code: .illegalTransition,
                                   message: "Ingest row \(id) (\(row.originalPath)) is '\(row.state.rawValue)', not 'claimed'; only an unstarted claim can be deleted. Nothing was changed.")
            }
            return try row.delete(db)
        }
    }

    /// Forgets an archive that was never indexed (an unsealed batch lost in a crash, or a sealed
    /// one that failed verification), in ONE transaction: deletes its row and moves every
    /// unfinished ingest row of its batch back to `claimed` (batch cleared), so those files are
    /// encoded again. Delete the archive file first: a file without a row would be an orphan.
    ///
    /// - Returns: the rows moved back to `claimed`.
    /// - Throws: `.illegalTransition` if the archive is `indexed` or `damaged` (its images are
    ///   listed; use `verify`/`reindex` instead).
    @discardableResult
    public func discardArchive(id: String, reason: String? = nil) async throws -> [IngestRecord] {
        try await write("Discarding unindexed archive \(id)") { db in
            if let archive = try ArchiveRecord.fetchOne(db, key: id) {
                guard [.open, .sealed, .verified].contains(archive.state) else {
                    throw CatalogError(code: .illegalTransition,
                                       message: "Archive \(id) is '\(archive.state.rawValue)'; only an archive that was never indexed can be discarded. Nothing was changed.")
                }
                _ = try archive.delete(db)
            }
            var rows = try IngestRecord
                .filter(Column("batch_id") == id)
                .filter([IngestState.encoded, .appended, .sealed, .verified].map(\.rawValue).contains(Column("state")))
                .order(Column("id"))
                .fetchAll(db)
            for index in rows.indices {
                try Self.applyTransition(db, &rows[index], from: nil, to: .claimed, batchID: nil, reason: reason)
            }
            return rows
        }
    }
}

extension Catalog {
    /// Moves one ingest row through several states in ONE transaction, each step checked as by
    /// ``transitionIngest(id:from:to:batchID:reason:)``: e.g. `claimed → encoded → appended` once
    /// the image's frame is in the open batch, for one commit instead of two (the `encoded` state
    /// alone is worth nothing to recovery: its latent lives only in memory).
    ///
    /// - Parameters:
    ///   - expected: the row must currently be in this state.
    ///   - states: the states to pass through, in order; the row ends in the last.
    ///   - batchID: the batch, for the move to `appended` (the other steps ignore it).
    @discardableResult
    public func advanceIngest(id: Int64, from expected: IngestState, through states: [IngestState],
                              batchID: String? = nil) async throws -> IngestRecord {
        try await write("Moving ingest row \(id) through \(states.map(\.rawValue))") { db in
            guard var row = try IngestRecord.fetchOne(db, key: id) else {
                throw CatalogError(code: .notFound, message: "No ingest row \(id); re-read the pending rows.")
            }
            var current: IngestState? = expected
            for state in states {
                try Self.applyTransition(db, &row, from: current, to: state, batchID: state == .appended ? batchID : nil, reason: nil)
                current = nil
            }
            return row
        }
    }
}
