import GRDB

/// A row type of the catalog. Swift properties are camelCase with upper-case acronyms; columns are
/// snake_case (`originalSHA256` ↔ `original_sha256`, `modelID` ↔ `model_id`). Dates are stored as
/// GRDB's UTC text `YYYY-MM-DD HH:MM:SS.SSS` (millisecond precision), so they sort as text and
/// read well in the `sqlite3` shell.
public protocol CatalogRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {}

extension CatalogRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy {
        .custom { column in ColumnKey(stringValue: ColumnName.property(forColumn: column)) }
    }

    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy {
        .custom { key in ColumnName.column(forProperty: key.stringValue) }
    }
}

/// Maps property names to column names and back.
///
/// GRDB's own snake-case strategies do not round-trip acronyms (`model_id` decodes to `modelId`,
/// not `modelID`), so the catalog uses this pair, which knows the acronyms it uses.
enum ColumnName {
    /// Words written in capitals in property names.
    static let acronyms: Set<String> = ["id", "sha256", "bd", "ssim"]

    /// `gateBDRate` → `gate_bd_rate`, `originalSHA256` → `original_sha256`.
    static func column(forProperty property: String) -> String {
        let characters = Array(property)
        var words: [String] = []
        var current = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, !current.isEmpty {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                // A new word starts at an upper-case letter after a lower-case letter or digit,
                // or at the last capital of an acronym that is followed by a lower-case word.
                if !previous.isUppercase || nextIsLower {
                    words.append(current)
                    current = ""
                }
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words.map { $0.lowercased() }.joined(separator: "_")
    }

    /// `gate_bd_rate` → `gateBDRate`, `original_sha256` → `originalSHA256`.
    static func property(forColumn column: String) -> String {
        let words = column.split(separator: "_").map(String.init)
        guard let first = words.first else { return column }
        return first + words.dropFirst().map { word in
            acronyms.contains(word) ? word.uppercased() : word.prefix(1).uppercased() + word.dropFirst()
        }.joined()
    }
}

/// A coding key made from a column name.
struct ColumnKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
