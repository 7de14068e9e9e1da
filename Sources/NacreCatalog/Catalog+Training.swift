import Foundation
import GRDB

// Training runs, the crop reservoir and small key/value state for the model lifecycle.
extension Catalog {
    @discardableResult
    public func insertTrainingRun(_ run: TrainingRunRecord) async throws -> TrainingRunRecord {
        try await insert(run, "Recording a training run")
    }

    public func updateTrainingRun(_ run: TrainingRunRecord) async throws {
        try await update(run, "Updating training run \(run.id.map(String.init) ?? "?")")
    }

    public func trainingRun(id: Int64) async throws -> TrainingRunRecord? {
        try await read("Reading training run \(id)") { db in try TrainingRunRecord.fetchOne(db, key: id) }
    }

    /// Runs, newest first, optionally only those in `states` (e.g. `[.running, .interrupted]` to resume).
    public func trainingRuns(in states: Set<TrainingRunState>? = nil) async throws -> [TrainingRunRecord] {
        try await read("Listing training runs") { db in
            var request = TrainingRunRecord.order(Column("id").desc)
            if let states { request = request.filter(states.map(\.rawValue).contains(Column("state"))) }
            return try request.fetchAll(db)
        }
    }

    @discardableResult
    public func addReservoirCrop(_ crop: ReservoirCropRecord) async throws -> ReservoirCropRecord {
        try await insert(crop, "Adding reservoir crop \(crop.path)")
    }

    /// One batch of reservoir sampling in one transaction: removes the evicted crops' rows,
    /// inserts the kept ones, and records the count of crops ever offered under `offeredKey`.
    /// Returns the inserted rows with their ids. The caller deletes the evicted files afterwards.
    @discardableResult
    public func updateReservoir(removing evicted: [Int64], adding kept: [ReservoirCropRecord],
                                offered: Int, offeredKey: String) async throws -> [ReservoirCropRecord] {
        try await write("Updating the reservoir (\(evicted.count) evicted, \(kept.count) kept)") { db in
            for id in evicted {
                guard try ReservoirCropRecord.deleteOne(db, key: id) else {
                    throw CatalogError(code: .notFound, message: "No reservoir crop \(id); re-read the reservoir.")
                }
            }
            var inserted: [ReservoirCropRecord] = []
            for crop in kept {
                var copy = crop
                try copy.insert(db)
                inserted.append(copy)
            }
            try Self.setMeta(db, key: offeredKey, value: String(offered))
            return inserted
        }
    }

    /// Removes a crop's row; returns whether it existed. The caller deletes the file.
    @discardableResult
    public func removeReservoirCrop(id: Int64) async throws -> Bool {
        try await write("Removing reservoir crop \(id)") { db in try ReservoirCropRecord.deleteOne(db, key: id) }
    }

    /// Crops in insertion order; `heldBack` selects validation (true) or training (false) crops.
    public func reservoirCrops(heldBack: Bool? = nil) async throws -> [ReservoirCropRecord] {
        try await read("Listing reservoir crops") { db in
            var request = ReservoirCropRecord.order(Column("id"))
            if let heldBack { request = request.filter(Column("held_back") == heldBack) }
            return try request.fetchAll(db)
        }
    }

    /// How many crops the reservoir holds, and how many of them are held back, without reading
    /// the rows (`status` asks for this often).
    public func reservoirCounts() async throws -> (total: Int, heldBack: Int) {
        try await read("Counting reservoir crops") { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(held_back), 0) FROM \(ReservoirCropRecord.databaseTableName)")
            return (row?[0] ?? 0, row?[1] ?? 0)
        }
    }

    /// A small persistent value (e.g. the reservoir's count of crops ever offered).
    public func metaValue(forKey key: String) async throws -> String? {
        try await read("Reading catalog value \(key)") { db in
            try String.fetchOne(db, sql: "SELECT value FROM catalog_meta WHERE key = ?", arguments: [key])
        }
    }

    /// Sets (or with nil, removes) a small persistent value.
    public func setMetaValue(_ value: String?, forKey key: String) async throws {
        try await write("Writing catalog value \(key)") { db in
            if let value {
                try Self.setMeta(db, key: key, value: value)
            } else {
                try db.execute(sql: "DELETE FROM catalog_meta WHERE key = ?", arguments: [key])
            }
        }
    }

    private static func setMeta(_ db: Database, key: String, value: String) throws {
        try db.execute(sql: "INSERT INTO catalog_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       arguments: [key, value])
    }
}
