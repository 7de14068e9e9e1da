/// Renders a reply's `result` for people: `key: value` lines, nested values indented, lists
/// of objects as `-` blocks.
public enum ReplyFormatter {
    public static func human(_ value: JSONValue) -> String {
        var lines: [String] = []
        render(value, indent: "", into: &lines)
        return lines.joined(separator: "\n")
    }

    private static func render(_ value: JSONValue, indent: String, into lines: inout [String]) {
        switch value {
        case .object(let object):
            for key in object.keys.sorted() {
                let child = object[key]!
                if let inline = inline(child) {
                    lines.append("\(indent)\(key): \(inline)")
                } else {
                    lines.append("\(indent)\(key):")
                    render(child, indent: indent + "  ", into: &lines)
                }
            }
        case .array(let items):
            for item in items {
                if let inline = inline(item) {
                    lines.append("\(indent)- \(inline)")
                } else {
                    var block: [String] = []
                    render(item, indent: "", into: &block)
                    for (index, line) in block.enumerated() {
                        lines.append(indent + (index == 0 ? "- " : "  ") + line)
                    }
                }
            }
        default:
            lines.append(indent + (inline(value) ?? ""))
        }
    }

    /// A one-line rendering for scalars and empty containers; `nil` for the rest.
    private static func inline(_ value: JSONValue) -> String? {
        switch value {
        case .null: return "-"
        case .bool(let b): return b ? "yes" : "no"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(format3(d))
        case .string(let s): return s
        case .array(let a) where a.isEmpty: return "(none)"
        case .object(let o) where o.isEmpty: return "(none)"
        default: return nil
        }
    }

    private static func format3(_ d: Double) -> String {
        let rounded = (d * 1000).rounded() / 1000
        return "\(rounded)"
    }
}
