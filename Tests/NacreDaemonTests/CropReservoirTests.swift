import Foundation
import Logging
import NacreArchive
import NacreCatalog
import NacreImage
import Testing
@testable import NacreDaemon

/// The crop reservoir on a real catalog and folder: files and rows in step, the persistent offer
/// count, one crop per source, orphan files removed, shrinking and turning it off.
@Suite("Crop reservoir")
struct CropReservoirTests {
    static func settings(crops: Int) -> DaemonConfig.Retrain {
        DaemonConfig.Retrain(schedule: .off, budgetSeconds: 60, reservoirCrops: crops, cropSide: 64, holdoutPercent: 50)
    }

    /// Files of the reservoir's two folders, as paths.
    static func files(_ reservoir: CropReservoir) -> Set<String> {
        Set([reservoir.trainingFolder, reservoir.holdoutFolder].flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).map { folder + "/" + $0 }
        })
    }

    /// A reservoir of 6 crops whose draws are all 0: every image is precut, and every offer is
    /// kept (the reservoir full, in slot 0).
    static func precutReservoir(in folder: TemporaryFolder) async throws -> (Catalog, CropReservoir) {
        let catalog = try Catalog(path: folder.sub("catalog.sqlite"))
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let reservoir = CropReservoir(stateDir: folder.makeFolder("state"), settings: settings(crops: 6), catalog: catalog,
                                      logger: logger, random: { _ in 0 })
        await reservoir.prepare()
        return (catalog, reservoir)
    }

    /// Writes `crops` as claimed files and precuts each, as the pipeline does at encode.
    static func claimAndPrecut(_ crops: [TestCrops.Crop], in folder: TemporaryFolder, reservoir: CropReservoir) async throws -> [IngestRecord] {
        let claims = folder.makeFolder("claims")
        var rows: [IngestRecord] = []
        for crop in crops {
            let path = claims + "/" + crop.name
            precondition(FileManager.default.createFile(atPath: path, contents: Data(crop.png)))
            rows.append(IngestRecord(spool: "main", originalPath: path, claimedPath: path, size: Int64(crop.png.count), mtime: Date()))
            await reservoir.precut(claimedPath: path, sourceSHA256: SHA256.hash(crop.png).hex, pixels: crop.pixels)
        }
        return rows
    }

    @Test func keepsABoundedLosslessSampleAndCleansUp() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let catalog = try Catalog(path: folder.sub("catalog.sqlite"))
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let reservoir = CropReservoir(stateDir: folder.makeFolder("state"), settings: Self.settings(crops: 16), catalog: catalog,
                                      logger: logger)
        await reservoir.prepare()

        let crops = try TestCrops.make(count: 30)
        let claims = folder.makeFolder("claims")
        let rows = crops.map { crop in
            let path = claims + "/" + crop.name
            precondition(FileManager.default.createFile(atPath: path, contents: Data(crop.png)))
            return IngestRecord(spool: "main", originalPath: path, claimedPath: path, size: Int64(crop.png.count), mtime: Date())
        }
        await reservoir.offer(rows)

        var kept = try await catalog.reservoirCrops()
        #expect(kept.count == 16)
        #expect(try await reservoir.counts().offered == 30)
        #expect(Self.files(reservoir) == Set(kept.map(\.path)), "one file per row, no more")
        for crop in kept {
            let pixels = try PNGReader.read(contentsOfFile: crop.path).pixels
            #expect(crops.contains { $0.pixels == pixels }, "\(crop.path) is not a lossless copy of an offered image")
            #expect(crop.path.hasPrefix((crop.heldBack ? reservoir.holdoutFolder : reservoir.trainingFolder) + "/"))
        }

        // The same originals again: counted as offers, but no second crop of a source.
        await reservoir.offer(rows)
        kept = try await catalog.reservoirCrops()
        #expect(try await reservoir.counts().offered == 60)
        #expect(Set(kept.map(\.sourceSHA256)).count == kept.count)
        #expect(Self.files(reservoir) == Set(kept.map(\.path)))

        // A file no row knows (a crash between the file and the catalog write) goes at the next start.
        let orphan = reservoir.trainingFolder + "/orphan.png"
        precondition(FileManager.default.createFile(atPath: orphan, contents: Data(crops[0].png)))
        await reservoir.prepare()
        #expect(!FileManager.default.fileExists(atPath: orphan))

        // A smaller reservoir evicts at random, rows and files together.
        await reservoir.apply(Self.settings(crops: 5))
        kept = try await catalog.reservoirCrops()
        #expect(kept.count == 5)
        #expect(Self.files(reservoir) == Set(kept.map(\.path)))

        // Off: no pixels kept, the count forgotten, nothing offered is kept.
        await reservoir.apply(Self.settings(crops: 0))
        #expect(try await catalog.reservoirCrops().isEmpty)
        #expect(Self.files(reservoir).isEmpty)
        #expect(try await catalog.metaValue(forKey: CropReservoir.offeredKey) == nil)
        await reservoir.offer(rows)
        #expect(try await catalog.reservoirCrops().isEmpty && Self.files(reservoir).isEmpty)
    }

    @Test func cropsCutAtEncodeTimeAreUsedAndTheUnusedOnesDeleted() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (catalog, reservoir) = try await Self.precutReservoir(in: folder)
        let crops = try TestCrops.make(count: 12)
        var rows = try await Self.claimAndPrecut(crops, in: folder, reservoir: reservoir)
        // A rolled-back image's precut waits for its offer; a start or reload spares it.
        let rolledBack = rows.removeLast()
        await reservoir.prepare()
        await reservoir.waitForPrecutWrites()

        await reservoir.offer(rows)
        let kept = try await catalog.reservoirCrops()
        #expect(kept.count == 6)
        #expect(kept.allSatisfy { $0.path.contains("-p") }, "kept crops are the ones cut at encode time: \(kept.map(\.path))")
        for crop in kept {
            let pixels = try PNGReader.read(contentsOfFile: crop.path).pixels
            #expect(crops.contains { $0.pixels == pixels && SHA256.hash($0.png).hex == crop.sourceSHA256 })
        }
        // Besides the kept six, only the rolled-back image's precut; the evicted ones are gone.
        let extra = Self.files(reservoir).subtracting(kept.map(\.path))
        let rolledBackPrefix = String(SHA256.hash(crops.last!.png).hex.prefix(16))
        #expect(extra.count == 1 && extra.allSatisfy { $0.contains(rolledBackPrefix) }, "unexpected files: \(extra)")

        // Offered later (encoded again and indexed), the rolled-back image's precut is used or deleted.
        await reservoir.offer([rolledBack])
        #expect(Self.files(reservoir) == Set(try await catalog.reservoirCrops().map(\.path)))
        #expect(try await reservoir.counts().offered == 12)
    }

    /// The precut writes run in idle CPU time; an offer never waits for an unfinished one: it
    /// cuts those images from their files, and the late precut files are deleted once written.
    @Test func anOfferDoesNotWaitForUnfinishedPrecutWrites() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (catalog, reservoir) = try await Self.precutReservoir(in: folder)
        let release = DispatchSemaphore(value: 0)
        await reservoir.enqueueOnPrecutWriter { release.wait() }
        let rows = try await Self.claimAndPrecut(try TestCrops.make(count: 4), in: folder, reservoir: reservoir)
        await reservoir.offer(rows)  // returns although no precut is written
        let kept = try await catalog.reservoirCrops()
        #expect(kept.count == 4)
        #expect(kept.allSatisfy { !$0.path.contains("-p") }, "kept crops cut from the files: \(kept.map(\.path))")
        release.signal()
        // The late precuts are written, then deleted.
        let deadline = Date().addingTimeInterval(30)
        while Self.files(reservoir) != Set(kept.map(\.path)), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(Self.files(reservoir) == Set(kept.map(\.path)))
    }
}
