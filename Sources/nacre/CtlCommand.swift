import ArgumentParser
import Foundation
import NacreDaemon

/// `nacre ctl …`: the control-socket client. Parses its own words so that its exit statuses are
/// the documented ones (2 for usage errors) rather than ArgumentParser's.
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Talk to a running daemon over its control socket.",
        discussion: CtlInvocation.usage
    )

    @Argument(parsing: .captureForPassthrough, help: "[--socket PATH] [--config FILE] [--json] [--timeout S] COMMAND [ARGS...]")
    var words: [String] = []

    func run() throws {
        let status = Self.execute(words)
        if status != 0 { throw ExitCode(status) }
    }

    static func execute(_ words: [String]) -> Int32 {
        let invocation: CtlInvocation
        do {
            invocation = try CtlInvocation.parse(words)
        } catch {
            printError("nacre ctl: \(error)\n\(CtlInvocation.usage)")
            return 2
        }
        guard let request = invocation.request else {
            print(CtlInvocation.usage)
            return 0
        }
        let socketPath: String
        switch invocation.socket {
        case .path(let path):
            socketPath = path
        case .config(let file):
            do {
                socketPath = try DaemonConfig.load(path: file).socket.path
            } catch {
                printError("nacre ctl: cannot read the socket path from \(file): \(error)")
                return 2
            }
        }
        let client: ControlClient
        do {
            client = try ControlClient(path: socketPath, timeout: invocation.timeoutSeconds)
        } catch {
            printError("nacre ctl: cannot connect to \(socketPath): \(error.message)\n"
                + "Is the daemon running? Pass --socket PATH or --config FILE, or set NACRE_SOCKET.")
            return 3
        }
        let reply: JSONValue
        do {
            reply = try client.send(request)
        } catch {
            printError("nacre ctl: \(error.message)")
            return 4
        }
        let ok = reply["ok"]?.boolValue == true
        if invocation.json {
            print(reply.description)
        } else if ok {
            let text = ReplyFormatter.human(reply["result"] ?? .null)
            if !text.isEmpty { print(text) }
        } else {
            let code = reply["error"]?["code"]?.stringValue ?? "unknown"
            let message = reply["error"]?["message"]?.stringValue ?? "(no message)"
            printError("nacre ctl: \(request.command.rawValue) failed: \(code): \(message)")
        }
        return ok ? 0 : 1
    }

    private static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
