import Foundation
import Yams

/// A YAML node with the key path that led to it, with typed accessors whose errors name that path
/// and the line in the file.
struct ConfigNode {
    let node: Node
    let path: String

    var line: String {
        if let mark = node.mark { return " (line \(mark.line))" }
        return ""
    }

    func invalid(_ message: String) -> DaemonError {
        DaemonError(code: .configInvalidValue, message: message + line, keyPath: path)
    }

    /// The node as a mapping whose keys must all be in `allowed`.
    func mapping(allowed: [String]) throws(DaemonError) -> ConfigMapping {
        guard case .mapping(let mapping) = node else {
            throw invalid("expected a mapping of keys (key: value)")
        }
        var entries: [String: ConfigNode] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw invalid("keys must be plain strings")
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                let lineText = keyNode.mark.map { " (line \($0.line))" } ?? ""
                throw DaemonError(code: .configUnknownKey,
                                  message: "unknown key '\(key)'\(lineText); allowed here: \(allowed.joined(separator: ", "))",
                                  keyPath: childPath)
            }
            guard entries[key] == nil else {
                throw DaemonError(code: .configInvalidValue, message: "key '\(key)' appears twice" + line, keyPath: childPath)
            }
            entries[key] = ConfigNode(node: value, path: childPath)
        }
        return ConfigMapping(node: self, entries: entries)
    }

    func sequence() throws(DaemonError) -> [ConfigNode] {
        if case .scalar = node, node.null != nil { return [] }
        guard case .sequence(let sequence) = node else { throw invalid("expected a list") }
        return sequence.enumerated().map { ConfigNode(node: $0.element, path: "\(path)[\($0.offset)]") }
    }

    func string() throws(DaemonError) -> String {
        guard case .scalar(let scalar) = node else { throw invalid("expected a text value") }
        return scalar.string
    }

    func nonEmptyString() throws(DaemonError) -> String {
        let text = try string()
        guard !text.isEmpty else { throw invalid("must not be empty") }
        return text
    }

    func int(in range: ClosedRange<Int>) throws(DaemonError) -> Int {
        guard case .scalar = node, let value = node.int else { throw invalid("expected a whole number") }
        guard range.contains(value) else { throw invalid("\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func bool() throws(DaemonError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw invalid("expected true or false") }
        return value
    }

    func double(in range: ClosedRange<Double>) throws(DaemonError) -> Double {
        guard case .scalar = node, let value = node.float, value.isFinite else { throw invalid("expected a number") }
        guard range.contains(value) else { throw invalid("\(value) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    /// A byte count: a whole number, or a number with a unit (`512 MiB`, `2GiB`, `100 MB`, `64k`).
    func byteSize(in range: ClosedRange<Int64>) throws(DaemonError) -> Int64 {
        let text = try string().trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isNumber || $0 == "." }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multipliers: [String: Double] = [
            "": 1, "b": 1, "k": 0x1p10, "kib": 0x1p10, "kb": 1e3, "m": 0x1p20, "mib": 0x1p20, "mb": 1e6,
            "g": 0x1p30, "gib": 0x1p30, "gb": 1e9, "t": 0x1p40, "tib": 0x1p40, "tb": 1e12,
        ]
        guard let number = Double(digits), let multiplier = multipliers[unit] else {
            throw invalid("expected a byte size such as 1073741824, '512 MiB' or '2 GiB', got '\(text)'")
        }
        let bytes = number * multiplier
        guard bytes.isFinite, bytes >= Double(range.lowerBound), bytes <= Double(range.upperBound) else {
            throw invalid("\(text) is out of range \(range.lowerBound)...\(range.upperBound) bytes")
        }
        return Int64(bytes)
    }

    /// An absolute path: relative ones resolve against `base`.
    func path(base: String) throws(DaemonError) -> String {
        let text = try nonEmptyString()
        guard !text.contains("\0") else { throw invalid("paths cannot contain NUL") }
        return PathResolver.absolute(text, base: base)
    }
}

/// The entries of a YAML mapping, already checked for unknown and duplicate keys.
struct ConfigMapping {
    let node: ConfigNode
    let entries: [String: ConfigNode]

    subscript(key: String) -> ConfigNode? { entries[key] }

    func required(_ key: String) throws(DaemonError) -> ConfigNode {
        guard let value = entries[key] else {
            let path = node.path.isEmpty ? key : "\(node.path).\(key)"
            throw DaemonError(code: .configMissingKey, message: "required key '\(key)' is missing" + node.line, keyPath: path)
        }
        return value
    }
}
