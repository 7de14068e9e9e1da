import GRDB

/// A row type of the catalog. Swift properties are camelCase; columns are their snake_case form
/// (`originalSHA256` ↔ `original_sha256`). Dates are stored as GRDB's UTC text
/// `YYYY-MM-DD HH:MM:SS.SSS`, so they sort as text and read well in the `sqlite3` shell.
public protocol CatalogRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {}

extension CatalogRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}
