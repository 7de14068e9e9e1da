import Foundation

/// Typed access to a request's `args`, failing with `invalid_argument` messages that name the
/// argument and the expected form. Unknown arguments are refused, so a typo is never ignored.
struct CommandArguments {
    let command: ControlCommand
    let values: [String: JSONValue]

    /// Fails when `values` has a key outside `allowed`.
    init(_ request: ControlRequest, allowed: Set<String>) throws(ControlError) {
        command = request.command
        values = request.args
        if let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            let known = allowed.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw ControlError(.invalidArgument,
                               "'\(command.rawValue)' has no argument '\(unknown)'; it takes \(known.isEmpty ? "none" : known)")
        }
    }

    private func bad(_ key: String, _ expected: String) -> ControlError {
        ControlError(.invalidArgument, "'\(command.rawValue)': '\(key)' must be \(expected), got \(values[key]!)")
    }

    var isEmpty: Bool { values.isEmpty }

    func has(_ key: String) -> Bool { values[key] != nil && values[key] != .null }

    /// A non-empty string, or nil when absent. An integer is taken as its decimal text (names
    /// and ids may be all digits, and `nacre ctl KEY=VALUE` sends those as numbers).
    func string(_ key: String) throws(ControlError) -> String? {
        switch values[key] {
        case nil, .null?: return nil
        case .string(let text)? where !text.isEmpty && !text.contains("\0"): return text
        case .int(let number)?: return String(number)
        default: throw bad(key, "a non-empty string")
        }
    }

    func requiredString(_ key: String) throws(ControlError) -> String {
        guard let value = try string(key) else {
            throw ControlError(.invalidArgument, "'\(command.rawValue)' needs '\(key)'")
        }
        return value
    }

    /// A boolean (JSON `true`/`false`); `defaultValue` when absent.
    func bool(_ key: String, default defaultValue: Bool = false) throws(ControlError) -> Bool {
        switch values[key] {
        case nil, .null?: return defaultValue
        case .bool(let flag)?: return flag
        default: throw bad(key, "true or false")
        }
    }

    /// An integer in `range`, or nil when absent.
    func int(_ key: String, in range: ClosedRange<Int64>) throws(ControlError) -> Int64? {
        let number: Int64?
        switch values[key] {
        case nil, .null?: return nil
        case .int(let value)?: number = value
        case .double(let value)?: number = Int64(exactly: value)
        default: number = nil
        }
        guard let number, range.contains(number) else {
            throw bad(key, "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// A finite number in `range`, or nil when absent.
    func double(_ key: String, in range: ClosedRange<Double>) throws(ControlError) -> Double? {
        guard has(key) else { return nil }
        guard let number = values[key]?.doubleValue, number.isFinite, range.contains(number) else {
            throw bad(key, "a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// An ISO 8601 date (`2026-11-23`, taken as midnight UTC) or date-time
    /// (`2026-11-23T21:45:30Z`, offsets allowed, fractional seconds allowed), or nil when absent.
    /// With `endOfDay`, a plain date means the end of that day, so `until=2026-11-23` includes it.
    func date(_ key: String, endOfDay: Bool = false) throws(ControlError) -> Date? {
        guard let text = try string(key) else { return nil }
        guard let date = Self.parseDate(text, endOfDay: endOfDay) else {
            throw bad(key, "an ISO 8601 date (2026-11-23) or date-time (2026-11-23T21:45:30Z)")
        }
        return date
    }

    static func parseDate(_ text: String, endOfDay: Bool) -> Date? {
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        if text.count == 10, let day = dateOnly.date(from: text) {
            return endOfDay ? day.addingTimeInterval(86_400) : day
        }
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return date }
        full.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return full.date(from: text)
    }
}
