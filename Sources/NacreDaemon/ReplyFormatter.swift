/// Renders a reply's `result` for people (`nacre ctl` without `--json`): a table for
/// `list`/`search`/`models`, `key: value` lines for `info` and `status`, one line for
/// `restore`, `stats`, and per archive for `verify`. Anything else (and a result of an
/// unexpected shape) is rendered generically: `key: value` lines, nested values indented,
/// lists of objects as `-` blocks.
public enum ReplyFormatter {
    /// The result of `command`, for people.
    public static func human(_ value: JSONValue, command: ControlCommand) -> String {
        guard case .object(let result) = value else { return generic(value) }
        switch command {
        case .list, .search: return result["images"]?.arrayValue != nil ? imageTable(result) : generic(value)
        case .info: return result["name"] != nil ? info(result) : generic(value)
        case .restore: return result["path"] != nil ? restore(result) : generic(value)
        case .verify: return result["archives"]?.arrayValue != nil ? verify(result) : generic(value)
        case .stats: return result["bytes_in"] != nil ? stats(result) : generic(value)
        case .models: return result["models"]?.arrayValue != nil ? models(result) : generic(value)
        case .status, .seal, .retrain: return generic(value)
        }
    }

    /// The result of an unnamed command: recognised by its fields (each collection command's
    /// result has a distinctive set, docs/PROTOCOL.md), else rendered generically.
    public static func human(_ value: JSONValue) -> String {
        guard case .object(let result) = value else { return generic(value) }
        let command: ControlCommand?
        if result["images"]?.arrayValue != nil, result["total"] != nil { command = .list }
        else if result["original_sha256"] != nil { command = .info }
        else if result["path"] != nil, result["psnr_db"] != nil, result["bytes"] != nil { command = .restore }
        else if result["archives"]?.arrayValue != nil, result["checked"] != nil { command = .verify }
        else if result["bytes_in"] != nil, result["per_model"] != nil { command = .stats }
        else if result["models"]?.arrayValue != nil, result.keys.contains("champion") { command = .models }
        else { command = nil }
        return command.map { human(value, command: $0) } ?? generic(value)
    }

    // MARK: Collection commands

    private static func imageTable(_ result: [String: JSONValue]) -> String {
        let images = result["images"]?.arrayValue ?? []
        let rows = images.map { image -> [String] in
            [text(image["id"]), text(image["name"]), text(image["archive"]),
             "\(text(image["width"]))×\(text(image["height"]))", bytes(image["original_bytes"]),
             fixed(image["psnr_db"], 2), fixed(image["bpp"], 3), text(image["encoded_at"])]
        }
        var lines = rows.isEmpty ? ["no images match"] :
            table(header: ["ID", "NAME", "ARCHIVE", "SIZE", "BYTES", "PSNR", "BPP", "ENCODED"], rows: rows,
                  rightAligned: [0, 4, 5, 6])
        let total = result["total"]?.intValue ?? Int64(images.count)
        var footer = "\(images.count) of \(total) image\(total == 1 ? "" : "s")"
        if let next = result["next"]?.stringValue { footer += "; next page: add cursor=\(next)" }
        lines.append(footer)
        return lines.joined(separator: "\n")
    }

    private static func info(_ result: [String: JSONValue]) -> String {
        let order = ["name", "id", "archive", "archive_path", "archive_state", "model", "width", "height", "pixels",
                     "mode", "channels", "colour_type", "bit_depth", "quality", "original_bytes", "latent_bytes",
                     "ratio", "bpp", "psnr_db", "ms_ssim", "frame_offset", "frame_length", "encoded_at",
                     "original_sha256", "source_path"]
        let keys = order.filter { result[$0] != nil } + result.keys.sorted().filter { !order.contains($0) }
        let width = keys.map(\.count).max() ?? 0
        return keys.map { key in
            "\(key):\(String(repeating: " ", count: width - key.count + 1))\(inline(result[key]!) ?? result[key]!.description)"
        }.joined(separator: "\n")
    }

    private static func restore(_ result: [String: JSONValue]) -> String {
        "restored \(text(result["image"])) → \(text(result["path"])) (\(bytes(result["bytes"])), "
            + "\(text(result["mode"])) \(text(result["width"]))×\(text(result["height"])), "
            + "PSNR at encode \(fixed(result["psnr_db"], 2)) dB, \(fixed(result["elapsed_ms"], 0)) ms)"
    }

    private static func verify(_ result: [String: JSONValue]) -> String {
        var lines: [String] = []
        for archive in result["archives"]?.arrayValue ?? [] {
            let ok = archive["ok"]?.boolValue == true
            var line = "\(ok ? "ok     " : "DAMAGED") \(text(archive["id"])): \(text(archive["images"])) images"
            let damaged = archive["damaged_images"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if !damaged.isEmpty { line += ", \(damaged.count) unreadable: \(damaged.prefix(5).joined(separator: ", "))\(damaged.count > 5 ? ", …" : "")" }
            let problems = archive["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if !problems.isEmpty { line += "; \(problems.joined(separator: "; "))" }
            lines.append(line)
        }
        let checked = result["checked"]?.intValue ?? 0, damaged = result["damaged"]?.intValue ?? 0
        var summary = "verified \(checked) archive\(checked == 1 ? "" : "s"): \(checked - damaged) ok, \(damaged) damaged"
        if let next = result["next"]?.stringValue {
            summary += "; \(text(result["remaining"])) more: add after=\(next)"
        }
        lines.append(summary)
        return lines.joined(separator: "\n")
    }

    private static func stats(_ result: [String: JSONValue]) -> String {
        var lines = ["\(text(result["images"])) images in \(text(result["archives"])) archives: \(bytes(result["bytes_in"])) in, "
            + "\(bytes(result["bytes_out"])) out (ratio \(fixed(result["ratio"], 2))), \(fixed(result["bpp"], 3)) bpp, "
            + "mean PSNR \(fixed(result["mean_psnr_db"], 2)) dB"]
        for usage in result["per_model"]?.arrayValue ?? [] {
            lines.append("  model \(shortID(usage["model"])): \(text(usage["archives"])) archives, \(text(usage["images"])) images, \(bytes(usage["bytes_in"])) in")
        }
        return lines.joined(separator: "\n")
    }

    private static func models(_ result: [String: JSONValue]) -> String {
        let models = result["models"]?.arrayValue ?? []
        guard !models.isEmpty else { return "no models in the catalog" }
        let rows = models.map { model -> [String] in
            [shortID(model["id"]), text(model["role"]), model["parent"] == .null ? "-" : shortID(model["parent"]),
             text(model["archives"]), text(model["images"]), text(model["steps"]),
             model["gate_bd_rate"]?.doubleValue.map { String(format: "%+.2f %%", $0) } ?? "-", text(model["created_at"])]
        }
        return table(header: ["MODEL", "ROLE", "PARENT", "ARCHIVES", "IMAGES", "STEPS", "GATE", "CREATED"], rows: rows,
                     rightAligned: [3, 4, 5, 6])
            .joined(separator: "\n")
    }

    // MARK: Helpers

    /// Columns padded to their widest cell.
    private static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + (column == row.count - 1 ? "" : padding)
            }.joined(separator: "  ")
        }
    }

    private static func text(_ value: JSONValue?) -> String {
        guard let value else { return "-" }
        return inline(value) ?? value.description
    }

    private static func fixed(_ value: JSONValue?, _ digits: Int) -> String {
        guard let number = value?.doubleValue else { return "-" }
        let scale = (0..<digits).reduce(1.0) { value, _ in value * 10 }
        let rounded = (number * scale).rounded() / scale
        guard digits > 0 else { return String(Int64(rounded)) }
        var text = String(rounded)
        let decimals = text.split(separator: ".", omittingEmptySubsequences: false).last?.count ?? 0
        if !text.contains(".") { text += "." }
        return text + String(repeating: "0", count: max(0, digits - decimals))
    }

    private static func bytes(_ value: JSONValue?) -> String {
        guard let count = value?.doubleValue else { return "-" }
        let units = ["B", "KB", "MB", "GB", "TB"]
        var scaled = count, unit = 0
        while scaled >= 1000, unit < units.count - 1 { scaled /= 1000; unit += 1 }
        return unit == 0 ? "\(Int64(count)) B" : "\(fixed(.double(scaled), 1)) \(units[unit])"
    }

    /// The first 12 hex digits of a model id (enough to tell models apart).
    private static func shortID(_ value: JSONValue?) -> String {
        String(text(value).prefix(12))
    }

    // MARK: Generic rendering

    private static func generic(_ value: JSONValue) -> String {
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
