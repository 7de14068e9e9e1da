import Foundation

/// A parsed `nacre ctl` command line: options, and the request to send.
///
/// Grammar: `nacre ctl [--socket PATH] [--config FILE] [--json] [--timeout SECONDS] COMMAND
/// [POSITIONAL...] [KEY=VALUE...]`. Positional words map to the arguments documented in
/// docs/PROTOCOL.md (e.g. `restore IMAGE to PATH denoise`); `KEY=VALUE` sets any argument, the
/// value read as a boolean, an integer, a number, or else text.
public struct CtlInvocation: Equatable, Sendable {
    /// Where the socket is: `--socket`, else `$NACRE_SOCKET`, else `--config`'s `socket.path`,
    /// else ``defaultSocketPath``.
    public enum SocketSource: Equatable, Sendable {
        case path(String)
        case config(String)
    }

    public static let defaultSocketPath = "/run/nacre/nacre.sock"

    public var socket: SocketSource
    public var json = false
    public var timeoutSeconds = 60.0
    public var showHelp = false
    public var request: ControlRequest?

    /// A command-line mistake (exit status 2).
    public struct UsageError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    public static let usage = """
        usage: nacre ctl [--socket PATH] [--config FILE] [--json] [--timeout SECONDS] COMMAND [ARGS...]

        commands:
          status                          daemon state: uptime, queue, open batch, model
          list [GLOB] [KEY=VALUE...]      images, newest first (name=GLOB since=DATE until=DATE
                                          archive=ID limit=N cursor=NEXT)
          search GLOB|KEY=VALUE...        same filters as list; at least one is required
          info IMAGE [archive=ID]         one image's record (or id=N)
          restore IMAGE [to PATH] [denoise] [overwrite] [fast] [archive=ID]
                                          write IMAGE as PNG (default: the first restore root;
                                          fast: quicker, larger PNG)
          seal                            close the open batch now
          retrain [budget_minutes=N]      start a re-training run
          verify [ARCHIVE] [limit=N after=ID]
                                          re-read archives and report damage
          stats                           totals: images, bytes in/out, ratio, bpp, PSNR
          models                          known models, their use, and the champion

        exit status: 0 ok, 1 the daemon replied with an error, 2 usage error,
                     3 cannot connect, 4 connection broke or invalid reply
        """

    public static func parse(_ words: [String], environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(UsageError) -> CtlInvocation {
        var invocation = CtlInvocation(socket: .path(environment["NACRE_SOCKET"] ?? defaultSocketPath))
        var socketGiven = false
        var configPath: String?
        var rest: [String] = []
        var index = 0
        func value(_ option: String) throws(UsageError) -> String {
            index += 1
            guard index < words.count else { throw UsageError(description: "\(option) needs a value") }
            return words[index]
        }
        while index < words.count {
            let word = words[index]
            if !rest.isEmpty { rest.append(word); index += 1; continue }
            switch word {
            case "--socket": invocation.socket = .path(try value(word)); socketGiven = true
            case "--config": configPath = try value(word)
            case "--json": invocation.json = true
            case "--timeout":
                let text = try value(word)
                guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                    throw UsageError(description: "--timeout needs a positive number of seconds, got '\(text)'")
                }
                invocation.timeoutSeconds = seconds
            case "-h", "--help", "help": invocation.showHelp = true
            default:
                if word.hasPrefix("-") { throw UsageError(description: "unknown option '\(word)'") }
                rest.append(word)
            }
            index += 1
        }
        if !socketGiven, environment["NACRE_SOCKET"] == nil, let configPath { invocation.socket = .config(configPath) }
        if invocation.showHelp { return invocation }
        guard let name = rest.first else { throw UsageError(description: "no command given") }
        guard let command = ControlCommand(rawValue: name) else {
            throw UsageError(description: "unknown command '\(name)'; known: \(ControlCommand.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        invocation.request = ControlRequest(command: command, args: try arguments(for: command, Array(rest.dropFirst())))
        return invocation
    }

    /// Positional words and `KEY=VALUE` pairs → request arguments.
    static func arguments(for command: ControlCommand, _ words: [String]) throws(UsageError) -> [String: JSONValue] {
        var args: [String: JSONValue] = [:]
        var positional: [String] = []
        for word in words {
            if let equals = word.firstIndex(of: "="), equals != word.startIndex {
                args[String(word[..<equals])] = scalar(String(word[word.index(after: equals)...]))
            } else {
                positional.append(word)
            }
        }
        func extra(_ words: ArraySlice<String>) throws(UsageError) {
            if let first = words.first { throw UsageError(description: "unexpected '\(first)' after '\(command.rawValue)'") }
        }
        switch command {
        case .status, .seal, .stats, .models, .retrain:
            try extra(positional[...])
        case .list, .search:
            if let glob = positional.first { args["name"] = .string(glob) }
            try extra(positional.dropFirst())
        case .info:
            guard let image = positional.first else { throw UsageError(description: "info needs an IMAGE") }
            args["image"] = .string(image)
            try extra(positional.dropFirst())
        case .verify:
            if let archive = positional.first { args["archive"] = .string(archive) }
            try extra(positional.dropFirst())
        case .restore:
            guard let image = positional.first else { throw UsageError(description: "restore needs an IMAGE") }
            args["image"] = .string(image)
            var rest = positional.dropFirst()
            while let word = rest.popFirst() {
                switch word {
                case "to":
                    guard let path = rest.popFirst() else { throw UsageError(description: "'to' needs a PATH") }
                    // The daemon resolves paths itself; send absolute ones so the client's cwd counts.
                    args["to"] = .string(path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
                case "denoise": args["denoise"] = true
                case "overwrite": args["overwrite"] = true
                case "fast": args["fast"] = true
                default: throw UsageError(description: "unexpected '\(word)'; restore IMAGE [to PATH] [denoise] [overwrite] [fast]")
                }
            }
        }
        return args
    }

    /// `true`/`false`, an integer, a number, else the text itself.
    static func scalar(_ text: String) -> JSONValue {
        if text == "true" { return true }
        if text == "false" { return false }
        if let int = Int64(text) { return .int(int) }
        if let double = Double(text), double.isFinite, text.contains(where: { $0.isNumber }) { return .double(double) }
        return .string(text)
    }
}
