import Foundation
import GRDB

extension Catalog {
    /// Records a file just claimed from a spool (state must be `claimed`) and returns it with its id.
    /// `.alreadyExists` if another unfinished row holds the same claimed path.
    @discardableResult
    public func claimIngest(_ record: IngestRecord) async throws -> IngestRecord {
        guard record.state == .claimed else {
            throw CatalogError.invalidArgument("A new ingest row starts in state 'claimed', not '\(record.state.rawValue)'.")
        }
        return try await insert(record, "Claiming \(record.originalPath)")
    }

    /// Moves one ingest row to `next` if the pipeline allows it (see ``IngestState``).
    ///
    /// - Parameters:
    ///   - expected: if given, the row must currently be in this state (guards against a stale view).
    ///   - batchID: the batch (archive id); required when moving to `appended`. Cleared by a move
    ///     back to `claimed`.
    ///   - reason: required for `quarantined`; otherwise recorded as the last error if given.
    /// - Returns: the updated row.
    /// - Throws: `.notFound`, `.illegalTransition`, `.invalidArgument`.
    @discardableResult
    public func transitionIngest(id: Int64, from expected: IngestState? = nil, to next: IngestState,
                                 batchID: String? = nil, reason: String? = nil) async throws -> IngestRecord {
        try await write("Moving ingest row \(id) to '\(next.rawValue)'") { db in
            guard var row = try IngestRecord.fetchOne(db, key: id) else {
                throw CatalogError(code: .notFound, message: "No ingest row \(id); re-read the pending rows.")
            }
            try Self.applyTransition(db, &row, from: expected, to: next, batchID: batchID, reason: reason)
            return row
        }
    }

    /// Moves every row of a batch that is in `from` to `next`, in one transaction (e.g. all
    /// `appended` rows to `sealed` once the archive is sealed). Returns the rows moved.
    @discardableResult
    public func transitionIngestBatch(_ batchID: String, from: IngestState, to next: IngestState) async throws -> [IngestRecord] {
        try await write("Moving batch \(batchID) from '\(from.rawValue)' to '\(next.rawValue)'") { db in
            var rows = try IngestRecord
                .filter(Column("batch_id") == batchID && Column("state") == from.rawValue)
                .order(Column("id"))
                .fetchAll(db)
            for index in rows.indices {
                try Self.applyTransition(db, &rows[index], from: from, to: next, batchID: nil, reason: nil)
            }
            return rows
        }
    }

    public func ingestRow(id: Int64) async throws -> IngestRecord? {
        try await read("Reading ingest row \(id)") { db in try IngestRecord.fetchOne(db, key: id) }
    }

    /// Rows in any of `states`, oldest first. At start the daemon asks for
    /// `IngestState.unfinished` and finishes or rolls back each.
    public func ingestRows(in states: Set<IngestState>) async throws -> [IngestRecord] {
        try await read("Listing ingest rows") { db in
            try IngestRecord.filter(states.map(\.rawValue).contains(Column("state"))).order(Column("id")).fetchAll(db)
        }
    }

    /// Rows of one batch, oldest first.
    public func ingestRows(batch batchID: String) async throws -> [IngestRecord] {
        try await read("Listing ingest rows of batch \(batchID)") { db in
            try IngestRecord.filter(Column("batch_id") == batchID).order(Column("id")).fetchAll(db)
        }
    }

    /// Number of rows per state (for `status`: queue depth).
    public func ingestCounts() async throws -> [IngestState: Int] {
        try await read("Counting ingest rows") { db in
            var counts: [IngestState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM ingest GROUP BY state") {
                if let state = IngestState(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    /// The one place ingest rows change state: checks the transition and its arguments, then writes.
    static func applyTransition(_ db: Database, _ row: inout IngestRecord, from expected: IngestState?,
                                to next: IngestState, batchID: String?, reason: String?) throws {
        let what = "Ingest row \(row.id.map(String.init) ?? "?") (\(row.originalPath))"
        if let expected, row.state != expected {
            throw CatalogError(code: .illegalTransition,
                               message: "\(what) is '\(row.state.rawValue)', not '\(expected.rawValue)' as the caller expected; re-read it. Nothing was changed.")
        }
        guard row.state.canTransition(to: next) else {
            throw CatalogError.illegalTransition(what, from: row.state.rawValue, to: next.rawValue,
                                                 allowed: IngestState.allCases.filter(row.state.allowedNextStates.contains).map(\.rawValue))
        }
        switch next {
        case .claimed:
            row.batchID = nil
        case .appended:
            if let batchID { row.batchID = batchID }
            guard row.batchID != nil else {
                throw CatalogError.invalidArgument("\(what): moving to 'appended' needs the batch id it was appended to.")
            }
        case .quarantined:
            guard let reason, !reason.isEmpty else {
                throw CatalogError.invalidArgument("\(what): quarantining needs a reason.")
            }
        default:
            if let batchID, batchID != row.batchID {
                throw CatalogError.invalidArgument("\(what) belongs to batch \(row.batchID ?? "none"), not \(batchID).")
            }
        }
        if let reason { row.errorReason = reason }
        row.state = next
        row.updatedAt = Date()
        try row.update(db)
    }
}
