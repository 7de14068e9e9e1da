import Foundation
import NacreTestSupport
import Testing

/// `nacre ls` and `nacre verify` as a user runs them, on the golden archive and damaged copies.
@Suite(.enabled(if: NacreExecutable.path != nil, "the nacre executable is not built (run `swift build` first)"))
struct ArchiveCommandTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NacreArchiveTests/Fixtures/golden/v1-basic.nacre").path

    static func damagedCopy(_ transform: (inout [UInt8]) -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: golden)))
        transform(&bytes)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-cli-\(UUID().uuidString).nacre").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func lsListsEveryImageAndTheTotals() throws {
        let run = try NacreExecutable.run(["ls", "--json", Self.golden])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let images = try #require(json["images"] as? [[String: Any]])
        #expect(images.map { $0["name"] as? String } == ["kodim01.png", "café-\u{FFFD}.png", "alpha/icon-16bit.png"])
        let totals = try #require(json["totals"] as? [String: Any])
        #expect(totals["imageCount"] as? Int == 3)
        #expect(totals["fileBytes"] as? Int == 1680)
        let latent = try #require(totals["latentBitsPerPixel"] as? Double)
        let whole = try #require(totals["archiveBitsPerPixel"] as? Double)
        #expect(whole > latent, "the whole-archive rate also pays the decoder")

        let table = try NacreExecutable.run(["ls", Self.golden])
        #expect(table.status == 0)
        #expect(table.stdout.contains("768×512"))
        #expect(table.stdout.contains("3 images"))
    }

    @Test func verifyPassesTheGoldenArchive() throws {
        let run = try NacreExecutable.run(["verify", Self.golden])
        #expect(run.status == 0, "stdout: \(run.stdout) stderr: \(run.stderr)")
        #expect(run.stdout.contains("OK"))
    }

    @Test func verifyNamesTheDamagedImageAndFails() throws {
        // Flip a byte in the middle of the second image's frame: only that image is lost.
        let listing = try NacreExecutable.run(["ls", "--json", Self.golden])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [String: Any])
        let second = try #require((json["images"] as? [[String: Any]])?[1])
        let offset = try #require(second["frameOffset"] as? Int), length = try #require(second["frameLength"] as? Int)
        let path = try Self.damagedCopy { bytes in bytes[offset + length / 2] ^= 0x5A }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try NacreExecutable.run(["verify", "--json", path])
        #expect(run.status == 1)
        let results = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(results.first?["intact"] as? Bool == false)
        #expect(results.first?["damagedImages"] as? [String] == ["café-\u{FFFD}.png"])
    }

    @Test func unreadableFilesGiveAClearErrorAndExitStatus() throws {
        let missing = try NacreExecutable.run(["ls", "/nonexistent/x.nacre"])
        #expect(missing.status != 0)
        #expect(!missing.stderr.isEmpty)
        let notArchive = try Self.damagedCopy { $0 = Array("hello, not an archive\n".utf8) }
        defer { try? FileManager.default.removeItem(atPath: notArchive) }
        let verify = try NacreExecutable.run(["verify", notArchive])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("DAMAGED"))
    }
}
