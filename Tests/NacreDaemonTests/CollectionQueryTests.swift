import Foundation
import NacreCatalog
import Testing
@testable import NacreDaemon

/// `list`, `search`, `info`, `stats` and `models` over a real socket, against a real catalog of
/// real archives (CollectionFixture).
@Suite("Collection queries")
struct CollectionQueryTests {
    @Test func listIsNewestFirstAndPages() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }

        let all = try await server.result(.list)
        #expect(all["total"] == .int(Int64(fixture.imageCount)))
        let images = try #require(all["images"]?.arrayValue)
        #expect(images.count == fixture.imageCount)
        #expect(all["next"] == .null)
        // The second batch is newer: its images come first.
        let archives = images.compactMap { $0["archive"]?.stringValue }
        #expect(archives == [CollectionFixture.second, CollectionFixture.second, CollectionFixture.first, CollectionFixture.first])
        let names = Set(images.compactMap { $0["name"]?.stringValue })
        #expect(names == ["cat.png", "sub/gray.png", "alpha.png"])

        // Pages of 3 then the rest, joined by the cursor, give the same order.
        let first = try await server.result(.list, ["limit": 3])
        let cursor = try #require(first["next"]?.stringValue)
        #expect(first["count"] == 3)
        #expect(first["total"] == .int(Int64(fixture.imageCount)))
        let second = try await server.result(.list, ["limit": 3, "cursor": .string(cursor)])
        #expect(second["next"] == .null)
        let paged = (first["images"]?.arrayValue ?? []) + (second["images"]?.arrayValue ?? [])
        #expect(paged.compactMap { $0["id"] } == images.compactMap { $0["id"] })

        #expect(try await server.errorCode(.list, ["limit": 0]) == "invalid_argument")
        #expect(try await server.errorCode(.list, ["limit": 1001]) == "invalid_argument")
        #expect(try await server.errorCode(.list, ["cursor": "abc"]) == "invalid_argument")
        #expect(try await server.errorCode(.list, ["colour": "red"]) == "invalid_argument")
        #expect(try await server.errorCode(.list, ["since": "yesterday"]) == "invalid_argument")
    }

    @Test func searchByGlobArchiveAndDate() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }

        let cats = try await server.result(.search, ["name": "cat*"])
        #expect(cats["total"] == 2)
        #expect(Set(cats["images"]?.arrayValue?.compactMap { $0["archive"]?.stringValue } ?? []) == [CollectionFixture.first, CollectionFixture.second])

        let nested = try await server.result(.search, ["name": "sub/*"])
        #expect(nested["images"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["sub/gray.png"])

        let inFirst = try await server.result(.search, ["archive": .string(CollectionFixture.first)])
        #expect(inFirst["total"] == 2)

        let today = ISO8601DateFormatter().string(from: Date()).prefix(10)
        #expect(try await server.result(.search, ["since": .string(String(today))])["total"] == .int(Int64(fixture.imageCount)))
        #expect(try await server.result(.search, ["until": "2000-01-01"])["total"] == 0)
        #expect(try await server.result(.search, ["since": "2999-01-01T00:00:00Z"])["total"] == 0)
        // The first batch is a minute older than the second (CollectionFixture).
        let firstTime = try #require(inFirst["images"]?.arrayValue?.first?["encoded_at"]?.stringValue)
        let sinceFirst = try await server.result(.search, ["since": .string(firstTime)])
        #expect(sinceFirst["total"] == .int(Int64(fixture.imageCount)))

        #expect(try await server.result(.search, ["name": "*.jpg"])["total"] == 0)
        #expect(try await server.errorCode(.search) == "invalid_argument", "search without a filter")
    }

    @Test func infoHasEveryRecordField() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }

        let info = try await server.result(.info, ["image": "sub/gray.png"])
        let catalog = server.catalog
        let record = try await catalog.image(named: "sub/gray.png")
        #expect(info["name"] == "sub/gray.png")
        #expect(info["id"] == .int(record.id!))
        #expect(info["archive"] == .string(CollectionFixture.first))
        #expect(info["archive_path"] == .string(fixture.archivePaths[CollectionFixture.first]!))
        #expect(info["width"] == 168)
        #expect(info["height"] == 168)
        #expect(info["mode"] == "gray8")
        #expect(info["colour_type"] == 0)
        #expect(info["channels"] == 1)
        #expect(info["bit_depth"] == 8)
        #expect(info["quality"]?.doubleValue == 50)
        #expect(info["original_bytes"] == .int(Int64(fixture.originals[CollectionFixture.first]!["sub/gray.png"]!.count)))
        #expect(info["latent_bytes"] == .int(record.latentBytes))
        #expect(abs((info["bpp"]?.doubleValue ?? 0) - record.bitsPerPixel) < 1e-3)
        #expect(abs((info["psnr_db"]?.doubleValue ?? 0) - record.psnr) < 1e-3)
        #expect(abs((info["ms_ssim"]?.doubleValue ?? 0) - record.msSSIM) < 1e-4)
        #expect(info["frame_offset"] == .int(record.frameOffset))
        #expect(info["frame_length"] == .int(record.frameLength))
        #expect(info["original_sha256"] == .string(record.originalSHA256))
        #expect(info["original_sha256"]?.stringValue?.count == 64)
        #expect(info["model"]?.stringValue?.count == 64)
        #expect(info["encoded_at"]?.stringValue?.hasSuffix("Z") == true)

        let byID = try await server.result(.info, ["id": .int(record.id!)])
        #expect(byID == info)
        #expect(try await server.errorCode(.info, ["image": "cat.png"]) == "ambiguous")
        let second = try await server.result(.info, ["image": "cat.png", "archive": .string(CollectionFixture.second)])
        #expect(second["archive"] == .string(CollectionFixture.second))
        #expect(try await server.errorCode(.info, ["image": "dog.png"]) == "not_found")
        #expect(try await server.errorCode(.info, ["id": 999_999]) == "not_found")
        #expect(try await server.errorCode(.info) == "invalid_argument")
        #expect(try await server.errorCode(.info, ["image": 5.5]) == "invalid_argument")
    }

    @Test func statsAndModels() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }

        let stats = try await server.result(.stats)
        let bytesIn = fixture.originals.values.flatMap(\.values).reduce(0) { $0 + $1.count }
        let bytesOut = try fixture.archivePaths.values.reduce(0) { total, path in
            total + ((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }
        #expect(stats["images"] == .int(Int64(fixture.imageCount)))
        #expect(stats["archives"] == 2)
        #expect(stats["bytes_in"] == .int(Int64(bytesIn)))
        #expect(stats["bytes_out"] == .int(Int64(bytesOut)))
        #expect(abs((stats["ratio"]?.doubleValue ?? 0) - Double(bytesIn) / Double(bytesOut)) < 1e-3)
        let psnrs = try await server.catalog.images(limit: 100).images.map(\.psnr)
        #expect(abs((stats["mean_psnr_db"]?.doubleValue ?? 0) - psnrs.reduce(0, +) / Double(psnrs.count)) < 1e-3)
        #expect((stats["bpp"]?.doubleValue ?? 0) > 0)
        let perModel = try #require(stats["per_model"]?.arrayValue)
        #expect(perModel.count == 1)
        #expect(perModel.first?["images"] == .int(Int64(fixture.imageCount)))
        #expect(perModel.first?["archives"] == 2)

        let models = try await server.result(.models)
        let list = try #require(models["models"]?.arrayValue)
        #expect(list.count == 1)
        #expect(list.first?["id"] == perModel.first?["model"])
        #expect(list.first?["images"] == .int(Int64(fixture.imageCount)))
        #expect(list.first?["role"] == "retired", "a model known only from archives is registered as retired")
        #expect(models["champion"] == .null)
        #expect(try await server.errorCode(.stats, ["verbose": true]) == "invalid_argument")
    }

    @Test func sealAndRetrainAreNotServedHere() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }
        #expect(try await server.errorCode(.seal) == "not_available")
        #expect(try await server.result(.status)["pipeline"] == "test")
    }
}
