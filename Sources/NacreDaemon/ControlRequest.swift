/// The commands of the control protocol (docs/PROTOCOL.md).
public enum ControlCommand: String, Sendable, CaseIterable {
    case status, list, search, info, restore, seal, retrain, verify, stats, models
}

/// One decoded request line: `{"id": ..., "command": "...", "args": {...}}`.
public struct ControlRequest: Sendable, Equatable {
    /// Echoed in the reply; any JSON value, `null` when absent.
    public var id: JSONValue
    public var command: ControlCommand
    /// Command arguments; empty when absent.
    public var args: [String: JSONValue]

    public init(id: JSONValue = .null, command: ControlCommand, args: [String: JSONValue] = [:]) {
        self.id = id
        self.command = command
        self.args = args
    }

    /// Decodes a request line. Errors carry the id when it could be read, so the reply can echo it.
    static func decode(_ line: some Collection<UInt8>) -> Result<ControlRequest, Rejection> {
        guard let value = try? JSONValue.parse(line) else {
            return .failure(Rejection(id: .null, error: ControlError(.badRequest, "the request is not valid JSON")))
        }
        guard case .object(let object) = value else {
            return .failure(Rejection(id: .null, error: ControlError(.badRequest, "the request must be a JSON object")))
        }
        let id = object["id"] ?? .null
        guard case .string(let name)? = object["command"] else {
            return .failure(Rejection(id: id, error: ControlError(.badRequest, "the request needs a string field 'command'")))
        }
        guard let command = ControlCommand(rawValue: name) else {
            let known = ControlCommand.allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(Rejection(id: id, error: ControlError(.unknownCommand, "unknown command '\(name)'; known: \(known)")))
        }
        var args: [String: JSONValue] = [:]
        switch object["args"] {
        case nil, .null?: break
        case .object(let given)?: args = given
        default: return .failure(Rejection(id: id, error: ControlError(.badRequest, "'args' must be a JSON object")))
        }
        return .success(ControlRequest(id: id, command: command, args: args))
    }

    /// A request line that cannot be served, with the id to echo when it could be read.
    struct Rejection: Error {
        var id: JSONValue
        var error: ControlError
    }

    /// The request as one protocol line (without the newline).
    public func encodedLine() -> [UInt8] {
        var object: [String: JSONValue] = ["command": .string(command.rawValue)]
        if id != .null { object["id"] = id }
        if !args.isEmpty { object["args"] = .object(args) }
        return JSONValue.object(object).encodedLine()
    }
}

/// Builds reply objects: `{"id", "ok": true, "result"}` or `{"id", "ok": false, "error": {"code", "message"}}`.
public enum ControlReply {
    public static func success(id: JSONValue, result: JSONValue) -> JSONValue {
        ["id": id, "ok": true, "result": result]
    }

    public static func failure(id: JSONValue, error: ControlError) -> JSONValue {
        ["id": id, "ok": false, "error": ["code": .string(error.code.rawValue), "message": .string(error.message)]]
    }
}
