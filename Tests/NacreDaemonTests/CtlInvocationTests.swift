import Foundation
import Testing
@testable import NacreDaemon

@Suite("CtlInvocation")
struct CtlInvocationTests {
    private func parse(_ line: String, env: [String: String] = [:]) throws(CtlInvocation.UsageError) -> CtlInvocation {
        try CtlInvocation.parse(line.split(separator: " ").map(String.init), environment: env)
    }

    @Test func optionsAndSocketPrecedence() throws {
        let plain = try parse("status")
        #expect(plain.socket == .path(CtlInvocation.defaultSocketPath))
        #expect(plain.request == ControlRequest(command: .status))
        #expect(try parse("status", env: ["NACRE_SOCKET": "/tmp/e.sock"]).socket == .path("/tmp/e.sock"))
        #expect(try parse("--config /etc/n.yaml status").socket == .config("/etc/n.yaml"))
        #expect(try parse("--config /etc/n.yaml --socket /s status").socket == .path("/s"))
        let json = try parse("--json --timeout 2.5 stats")
        #expect(json.json && json.timeoutSeconds == 2.5)
    }

    @Test func positionalArguments() throws {
        #expect(try parse("info cat.png").request?.args == ["image": "cat.png"])
        #expect(try parse("restore cat.png to /out/c.png denoise overwrite").request?.args
            == ["image": "cat.png", "to": "/out/c.png", "denoise": true, "overwrite": true])
        #expect(try parse("restore 12 to rel.png").request?.args["to"]
            == .string(FileManager.default.currentDirectoryPath + "/rel.png"))
        #expect(try parse("verify a-0001").request?.args == ["archive": "a-0001"])
        #expect(try parse("verify").request?.args == [:])
        #expect(try parse("list *.png limit=10 since=2026-01-01").request?.args
            == ["name": "*.png", "limit": 10, "since": "2026-01-01"])
        #expect(try parse("retrain budget_minutes=1.5").request?.args == ["budget_minutes": 1.5])
    }

    @Test func usageErrors() {
        for bad in ["", "frobnicate", "info", "restore", "restore x to", "status extra", "--socket", "--timeout -1 status",
                    "--bogus status", "restore x sideways"] {
            #expect(throws: CtlInvocation.UsageError.self, "\(bad)") { try parse(bad) }
        }
    }

    @Test func help() throws {
        #expect(try parse("--help").showHelp)
        #expect(try parse("help").request == nil)
    }

    @Test func humanFormatting() {
        let text = ReplyFormatter.human(["b": 1, "a": "x", "nested": ["k": true], "list": [["n": 1], ["n": 2]], "none": []])
        #expect(text == """
            a: x
            b: 1
            list:
              - n: 1
              - n: 2
            nested:
              k: yes
            none: (none)
            """)
    }
}
