import Foundation
import Testing
@testable import NacreDaemon

/// docs/PROTOCOL.md is the contract: every command and error code the code knows must be in it.
@Suite("PROTOCOL.md")
struct ProtocolDocumentationTests {
    private let text: String = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/PROTOCOL.md").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }()

    @Test func documentsEveryCommand() {
        for command in ControlCommand.allCases {
            #expect(text.contains("| `\(command.rawValue)` |"), "command \(command.rawValue) is not in the table")
        }
    }

    @Test func documentsEveryErrorCode() {
        let codes: [ControlError.Code] = [.badRequest, .requestTooLarge, .unknownCommand, .notAvailable, .invalidArgument,
                                          .notFound, .permissionDenied, .busy, .timeout, .shuttingDown, .internal]
        for code in codes {
            #expect(text.contains("| `\(code.rawValue)` |"), "error code \(code.rawValue) is not in the table")
        }
    }

    @Test func documentsTheRequestLimit() {
        #expect(text.contains("\(ControlServer.maxRequestBytes) bytes"))
    }
}
