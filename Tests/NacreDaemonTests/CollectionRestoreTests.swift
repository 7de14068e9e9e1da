#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreImage
import Testing
@testable import NacreDaemon

/// `restore` over a real socket: real frames decoded with the archive's own decoder, PNG in the
/// original mode, and the confinement of destinations to the restore roots.
@Suite("Collection restore")
struct CollectionRestoreTests {
    private func contents(_ folder: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    @Test(arguments: [("cat.png", CollectionFixture.first, SourceFormat.ColorType.rgb),
                      ("sub/gray.png", CollectionFixture.first, .gray),
                      ("alpha.png", CollectionFixture.second, .rgba)])
    func roundTripInTheOriginalMode(name: String, archive: String, colorType: SourceFormat.ColorType) async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }

        let record = try await server.catalog.image(named: name, inArchive: archive)
        let reply = try await server.result(.restore, ["image": .string(name), "archive": .string(archive)])
        // Default destination: the first restore root / the image's name (subfolders created).
        let path = try #require(reply["path"]?.stringValue)
        #expect(path == server.restoreRoot + "/" + name)
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(reply["bytes"] == .int(Int64(written.count)))
        #expect(abs((reply["psnr_db"]?.doubleValue ?? 0) - record.psnr) < 1e-3)

        let restored = try PNGReader.decode(written)
        let original = try PNGReader.decode(try #require(fixture.originals[archive]?[name]))
        #expect(restored.source.colorType == colorType)
        #expect(restored.source.bitDepth == 8)
        #expect(restored.pixels.width == original.pixels.width && restored.pixels.height == original.pixels.height)
        let psnr = try PSNR(reference: original.pixels, distorted: restored.pixels).decibels
        #expect(abs(psnr - record.psnr) < 0.01, "restored PSNR \(psnr) dB vs recorded \(record.psnr) dB")
        if colorType == .rgba {
            #expect(restored.pixels.alpha == original.pixels.alpha, "alpha is stored losslessly")
        }
        // An explicit destination and a second restore of the same image reuse the cached decoder.
        let again = try await server.result(.restore, ["image": .string(name), "archive": .string(archive),
                                                       "to": .string(server.restoreRoot + "/again.png")])
        #expect(try Data(contentsOf: URL(fileURLWithPath: server.restoreRoot + "/again.png")) == Data(written))
        #expect(again["path"] == .string(server.restoreRoot + "/again.png"))
    }

    @Test func pathTraversalIsRefused() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }
        let root = server.restoreRoot, outside = server.outside
        let image: [String: JSONValue] = ["image": "sub/gray.png"]
        func restore(to path: String, overwrite: Bool = false) async throws -> String? {
            var args = image
            args["to"] = .string(path)
            if overwrite { args["overwrite"] = true }
            return try await server.errorCode(.restore, args)
        }

        // `..` out of the root, even when it would land back inside.
        #expect(try await restore(to: root + "/../outside/x.png") == "forbidden_path")
        #expect(try await restore(to: root + "/../restore/x.png") == "forbidden_path")
        #expect(try await restore(to: root + "/./x.png") == "forbidden_path")
        // Absolute paths outside every root.
        #expect(try await restore(to: outside + "/x.png") == "forbidden_path")
        #expect(try await restore(to: "/tmp/nacre-escape.png") == "forbidden_path")
        #expect(try await restore(to: "/etc/passwd", overwrite: true) == "forbidden_path")
        #expect(try await restore(to: "relative/x.png") == "invalid_argument")
        // A symbolic link inside the root that leads out: as a folder, and as the final name.
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: outside)
        #expect(try await restore(to: root + "/link/x.png") == "forbidden_path")
        #expect(try await restore(to: root + "/link/") == "forbidden_path")
        try Data("target".utf8).write(to: URL(fileURLWithPath: outside + "/target.png"))
        try FileManager.default.createSymbolicLink(atPath: root + "/evil.png", withDestinationPath: outside + "/target.png")
        #expect(try await restore(to: root + "/evil.png") == "exists", "a final symlink is an existing entry")
        // With overwrite, the link itself is replaced; its target is never written through.
        #expect(try await restore(to: root + "/evil.png", overwrite: true) == nil)
        #expect(try String(contentsOfFile: outside + "/target.png", encoding: .utf8) == "target")
        var info = stat()
        #expect(lstat(root + "/evil.png", &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
        // A symbolic link planted at the default destination's folder (an image name's subfolder).
        try FileManager.default.createSymbolicLink(atPath: root + "/sub", withDestinationPath: outside)
        #expect(try await server.errorCode(.restore, image) == "forbidden_path")
        // Missing folder.
        #expect(try await restore(to: root + "/no/such/folder/x.png") == "not_found")
        #expect(contents(outside) == ["target.png"], "nothing was written outside the restore root")

        // An existing file is kept unless overwrite is given.
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: root + "/kept.png"))
        #expect(try await restore(to: root + "/kept.png") == "exists")
        #expect(try String(contentsOfFile: root + "/kept.png", encoding: .utf8) == "keep me")
        #expect(try await restore(to: root + "/kept.png", overwrite: true) == nil)
        #expect(try PNGReader.read(contentsOfFile: root + "/kept.png").pixels.width == 168)
        // A folder as destination: the image's base name inside it.
        try FileManager.default.createDirectory(atPath: root + "/into", withIntermediateDirectories: false)
        let into = try await server.result(.restore, ["image": "sub/gray.png", "to": .string(root + "/into")])
        #expect(into["path"] == .string(root + "/into/gray.png"))
        #expect(!contents(root).contains { $0.contains(".nacre-restore-") }, "no temporary file is left behind")
        #expect(contents(outside) == ["target.png"])
    }

    @Test func restoreRootsFollowReloadsAndDenoiseIsNotAvailable() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }
        #expect(try await server.errorCode(.restore, ["image": "sub/gray.png", "denoise": true]) == "not_available")
        #expect(try await server.errorCode(.restore, ["image": "cat.png"]) == "ambiguous")
        #expect(try await server.errorCode(.restore, ["image": "nope.png"]) == "not_found")
        #expect(try await server.errorCode(.restore, ["image": "sub/gray.png", "overwrite": "yes"]) == "invalid_argument")

        // After a reload that makes `outside` the only root, it is allowed and `restore` is not.
        var config = server.config
        config.restoreRoots = [server.outside]
        server.commands.apply(config)
        #expect(try await server.errorCode(.restore, ["image": "sub/gray.png", "to": .string(server.restoreRoot + "/r.png")]) == "forbidden_path")
        let moved = try await server.result(.restore, ["image": "sub/gray.png", "to": .string(server.outside + "/r.png")])
        #expect(moved["path"] == .string(server.outside + "/r.png"))
        // A `threads` change starts new decode workers; restores keep working.
        config.threads = 3
        server.commands.apply(config)
        #expect(server.commands.decodeConcurrency.workers == 2)
        _ = try await server.result(.restore, ["image": "sub/gray.png", "to": .string(server.outside + "/r2.png")])
    }

    @Test func verifyFindsDamageAndRestoreReportsIt() async throws {
        let fixture = try await CollectionFixture.shared.value
        // A private copy of the first archive, with one byte of its gray image's frame flipped.
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let copy = folder.sub("\(CollectionFixture.first).nacre")
        try FileManager.default.copyItem(atPath: fixture.archivePaths[CollectionFixture.first]!, toPath: copy)
        let catalogPath = folder.sub("catalog.sqlite")
        try await CollectionFixture.indexArchives([copy], into: catalogPath)
        let server = try CollectionServer(fixture: fixture, catalogPath: catalogPath)
        defer { server.stop() }

        let clean = try await server.result(.verify)
        #expect(clean["checked"] == 1)
        #expect(clean["damaged"] == 0)
        #expect(clean["archives"]?.arrayValue?.first?["ok"] == true)
        #expect(clean["archives"]?.arrayValue?.first?["images"] == 2)

        let gray = try await server.catalog.image(named: "sub/gray.png")
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: copy))
        try handle.seek(toOffset: UInt64(gray.frameOffset + gray.frameLength / 2))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(gray.frameOffset + gray.frameLength / 2))
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
        try handle.close()

        let damaged = try await server.result(.verify, ["archive": .string(CollectionFixture.first)])
        let verdict = try #require(damaged["archives"]?.arrayValue?.first)
        #expect(verdict["ok"] == false)
        #expect(verdict["damaged_images"] == ["sub/gray.png"])
        #expect(try await server.catalog.archive(id: CollectionFixture.first)?.state == .damaged)
        #expect(try await server.errorCode(.restore, ["image": "sub/gray.png"]) == "damaged")
        // The intact image of the same archive still restores.
        _ = try await server.result(.restore, ["image": "cat.png", "archive": .string(CollectionFixture.first)])
        #expect(try await server.errorCode(.verify, ["archive": "nope"]) == "not_found")

        try FileManager.default.removeItem(atPath: copy)
        let missing = try await server.result(.verify, ["limit": 5])
        #expect(missing["archives"]?.arrayValue?.first?["problems"] == ["the archive file is missing"])
        let gone = try await server.send(.restore, ["image": "cat.png", "archive": .string(CollectionFixture.first),
                                                    "to": .string(server.restoreRoot + "/gone.png")])
        #expect(gone["error"]?["code"] == "damaged", "\(gone)")
    }
}
