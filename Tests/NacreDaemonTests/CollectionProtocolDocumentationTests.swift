import Foundation
import Testing
@testable import NacreDaemon

/// docs/PROTOCOL.md documents the collection commands' error codes and arguments.
@Suite("PROTOCOL.md collection commands")
struct CollectionProtocolDocumentationTests {
    private let text: String = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/PROTOCOL.md").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }()

    @Test func documentsTheCollectionErrorCodes() {
        for code: ControlError.Code in [.ambiguous, .forbiddenPath, .exists, .damaged] {
            #expect(text.contains("| `\(code.rawValue)` |"), "error code \(code.rawValue) is not in the table")
        }
    }

    @Test func documentsEachCollectionCommand() {
        for section in ["### `list` and `search`", "### `info`", "### `restore`", "### `verify`", "### `stats`", "### `models`"] {
            #expect(text.contains(section), "no section \(section)")
        }
    }
}
