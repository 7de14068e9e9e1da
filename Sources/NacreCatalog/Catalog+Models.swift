import Foundation
import GRDB

extension Catalog {
    /// Records a new model. `.alreadyExists` if its id is known; `.constraintViolation` if the id
    /// is not 64 lower-case hex digits, the parent is unknown, or it would be a second champion.
    @discardableResult
    public func insertModel(_ model: ModelRecord) async throws -> ModelRecord {
        try await insert(model, "Recording model \(model.id)")
    }

    /// Rewrites a known model's row. `.notFound` if it is not in the catalog.
    public func updateModel(_ model: ModelRecord) async throws {
        try await update(model, "Updating model \(model.id)")
    }

    public func model(id: String) async throws -> ModelRecord? {
        try await read("Reading model \(id)") { db in try ModelRecord.fetchOne(db, key: id) }
    }

    /// Every model, newest first.
    public func models() async throws -> [ModelRecord] {
        try await read("Listing models") { db in
            try ModelRecord.order(Column("created_at").desc, Column("id")).fetchAll(db)
        }
    }

    /// The model new batches use, if one is set.
    public func champion() async throws -> ModelRecord? {
        try await read("Reading the champion model") { db in
            try ModelRecord.filter(Column("role") == ModelRole.champion.rawValue).fetchOne(db)
        }
    }

    /// Makes `id` the champion and retires the previous one, in one transaction.
    /// Returns the model that was champion before (now retired), if any; if `id` already is the
    /// champion nothing changes and it is returned. `.notFound` if `id` is unknown.
    @discardableResult
    public func promoteModel(id: String) async throws -> ModelRecord? {
        try await write("Promoting model \(id)") { db in
            guard var promoted = try ModelRecord.fetchOne(db, key: id) else {
                throw CatalogError(code: .notFound, message: "No model \(id) in the catalog; record it with insertModel first.")
            }
            var previous = try ModelRecord.filter(Column("role") == ModelRole.champion.rawValue).fetchOne(db)
            if previous?.id == id { return previous }
            if var old = previous {
                old.role = .retired
                try old.update(db)
                previous = old
            }
            promoted.role = .champion
            try promoted.update(db)
            return previous
        }
    }
}
