import ArgumentParser
import Foundation

/// A library error shown to a command-line user: its message, and exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ error: any Error) {
        description = "\(error)"
    }

    /// Pretty, key-sorted JSON for `--json` outputs.
    static func jsonString<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
