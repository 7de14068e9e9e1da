#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreArchive
import NacreCatalog
import NacreCodec
import NacreEngine
import NacreStore
import Testing
@testable import NacreDaemon

extension PipelineProcessTests {
    /// Recovery, state by state and deterministically: the catalog and the folders are set up as
    /// a crash would leave them, then an in-process pipeline starts and must finish or roll back
    /// each (docs/PIPELINE.md, "Recovery"). The crash-injection test hits these at random.
    @Suite("Pipeline recovery")
    struct PipelineRecoveryTests {
        static let baseModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/NacreStore/Resources/base.nxcm").path

        /// What a test sets up: folders, catalog, the model to write archives with.
        struct Scene {
            let folder = TemporaryFolder()
            let catalog: Catalog
            let codec: CodecModel
            let config: DaemonConfig
            var inbox: String { folder.sub("inbox") }
            var processing: String { folder.sub("state/processing") }
            var archives: String { folder.sub("archives") }

            init() throws {
                for name in ["inbox", "archives", "quarantine", "state/processing", "restore"] { folder.makeFolder(name) }
                config = try DaemonConfig.parse(yaml: pipelineConfigYAML(model: PipelineRecoveryTests.baseModel),
                                                configPath: folder.sub("nacre.yaml"))
                catalog = try Catalog(path: folder.sub("state/catalog.sqlite"))
                codec = try CodecModel.load(contentsOfFile: PipelineRecoveryTests.baseModel, engine: try Engine(threads: 1))
            }

            /// Puts `crop` in a claim folder and records it `claimed`.
            func claimed(_ crop: TestCrops.Crop) async throws -> IngestRecord {
                let token = folder.makeFolder("state/processing/" + String(format: "%016llx", UInt64.random(in: 0...UInt64.max)))
                let path = token + "/" + crop.name
                precondition(FileManager.default.createFile(atPath: path, contents: Data(crop.png)))
                return try await catalog.claimIngest(IngestRecord(spool: "main", originalPath: inbox + "/" + crop.name, claimedPath: path,
                                                                  size: Int64(crop.png.count), mtime: Date()))
            }

            /// A sealed archive `id` holding `crops`, encoded as the pipeline would, with the rows
            /// `appended` to it and its catalog row in `state`.
            func sealedBatch(_ id: String, _ crops: [TestCrops.Crop], archiveState: ArchiveState) async throws -> (path: String, rows: [IngestRecord]) {
                let path = archives + "/" + id + ".nacre"
                let decoder = codec.decoderBytes()
                let digest = SHA256.hash(decoder)
                let writer = try ArchiveWriter(path: path, manifest: ArchiveManifest(writerVersion: "test", modelID: digest.hex, modelSHA256: digest),
                                               model: decoder)
                try await catalog.insertArchive(ArchiveRecord(id: id, path: path, bytes: 0, modelID: digest.hex, state: .open))
                var rows: [IngestRecord] = []
                for crop in crops {
                    let row = try await claimed(crop)
                    try writer.append(try ImagePacker(codec: codec, rate: .quality(50)).pack(pngBytes: crop.png, name: Array(crop.name.utf8)).image)
                    rows.append(try await catalog.advanceIngest(id: row.id!, from: .claimed, through: [.encoded, .appended], batchID: id))
                }
                _ = try writer.seal()
                if archiveState != .open {
                    var record = try #require(try await catalog.archive(id: id))
                    record.state = .sealed
                    try await catalog.updateArchive(record)
                    try await catalog.transitionIngestBatch(id, from: .appended, to: .sealed)
                }
                return (path, rows)
            }
        }

        @Test func recoveryFinishesOrRollsBackEveryState() async throws {
            let scene = try Scene()
            defer { scene.folder.remove() }
            let crops = try TestCrops.make(count: 6, prefix: "recover")

            // A: sealed (renamed) just before the crash, the catalog still says `open`.
            let a = try await scene.sealedBatch("A", Array(crops[0..<2]), archiveState: .open)
            // B: indexed, but the crash came before its original was deleted.
            let b = try await scene.sealedBatch("B", [crops[2]], archiveState: .sealed)
            try await scene.catalog.transitionIngestBatch("B", from: .sealed, to: .verified)
            var summary = ArchiveIndexer.Result()
            ArchiveIndexer.read(archive: b.path, into: &summary)
            try await scene.catalog.indexArchive(try #require(summary.summaries.first).archive, images: summary.summaries[0].images)
            // C: the claim was recorded, but the file never left the inbox.
            precondition(FileManager.default.createFile(atPath: scene.inbox + "/" + crops[3].name, contents: Data(crops[3].png)))
            let c = try await scene.catalog.claimIngest(IngestRecord(
                spool: "main", originalPath: scene.inbox + "/" + crops[3].name,
                claimedPath: scene.processing + "/00000000000000cc/" + crops[3].name, size: 1, mtime: Date()))
            // D: a file in a claim folder no row knows.
            scene.folder.makeFolder("state/processing/00000000000000dd")
            scene.folder.write("state/processing/00000000000000dd/stray.png", "stray")
            // E: an unsealed archive's temporary file.
            scene.folder.write("archives/.E.nacre.tmp-1234", "partial")
            // F: sealed, but its image frame was damaged on disk before verification.
            let f = try await scene.sealedBatch("F", [crops[4]], archiveState: .sealed)
            let reader = try ArchiveReader.open(path: f.path)
            let frame = reader.images[0].frame
            let handle = try #require(FileHandle(forUpdatingAtPath: f.path))
            try handle.seek(toOffset: frame.offset + frame.length / 2)
            try handle.write(contentsOf: Data(repeating: 0x55, count: 16))
            try handle.close()

            let pipeline = IngestPipeline(config: scene.config, catalog: scene.catalog, commands: UnavailableCommands(),
                                          version: "test", logger: testLogger)
            let running = Task { try await pipeline.run() }
            defer { running.cancel() }
            // Recovery runs first; then F's image, rolled back to `claimed`, is encoded again.
            let settled = await eventually(timeout: 120) {
                let status = await pipeline.statusFields()
                return status["pipeline"] == "running" && status["open_batch"]?["images"] == 1
            }
            let status = await pipeline.statusFields()
            #expect(settled, "status: \(status)")

            #expect(scene.config.modelPath == PipelineRecoveryTests.baseModel)
            let catalog = scene.catalog
            // A and B: indexed, originals gone, rows done.
            for (id, rows) in [("A", a.rows), ("B", b.rows)] {
                #expect(try await catalog.archive(id: id)?.state == .indexed, "archive \(id)")
                for row in rows {
                    #expect(try await catalog.ingestRow(id: row.id!)?.state == .done)
                    #expect(!FileManager.default.fileExists(atPath: row.claimedPath))
                }
            }
            #expect(try await catalog.images(ImageFilter(archiveID: "A")).images.count == 2)
            // C: the row is gone; the file waits in the inbox for the watcher.
            #expect(try await catalog.ingestRow(id: c.id!) == nil)
            #expect(FileManager.default.fileExists(atPath: scene.inbox + "/" + crops[3].name))
            // D: quarantined as an orphan, its folder removed.
            let reasons = try FileManager.default.contentsOfDirectory(atPath: scene.folder.sub("quarantine")).filter { $0.hasSuffix(".reason") }
            #expect(reasons.count == 1)
            let reason = try String(contentsOfFile: scene.folder.sub("quarantine/" + reasons[0]), encoding: .utf8)
            #expect(reason.contains("code: orphan") && reason.contains("original_name: stray.png"))
            #expect(!FileManager.default.fileExists(atPath: scene.processing + "/00000000000000dd"))
            // E: removed.
            #expect(!FileManager.default.fileExists(atPath: scene.archives + "/.E.nacre.tmp-1234"))
            // F: deleted with its row, its image back in the queue and in a new open batch.
            #expect(!FileManager.default.fileExists(atPath: f.path))
            #expect(try await catalog.archive(id: "F") == nil)
            let redone = try #require(try await catalog.ingestRow(id: f.rows[0].id!))
            #expect(redone.state == .appended && redone.batchID != "F")
            #expect(redone.errorReason?.hasPrefix("verify failed") == true)
            #expect(try await catalog.recentEvents(kind: "archive.verify_failed").first?.subject == "F")
            // The champion is the model frame new archives carry: the decoder with the built-in denoiser.
            let denoiser = try ModelDenoiser.locate(forModelAt: try BaseModel.locate(), decoderIdentifier: scene.codec.identifier,
                                                    engine: scene.codec.network.engine)?.denoiser
            #expect(denoiser != nil)
            let modelFrame = ModelFrameContent(decoder: scene.codec.decoderBytes(), denoiser: denoiser?.serialized()).encoded()
            #expect(try await catalog.champion()?.id == SHA256.hash(modelFrame).hex)

            running.cancel()
            _ = try? await running.value
            // Stopping parked the open batch: F's image is `claimed` again, its temporary file gone.
            #expect(try await catalog.ingestRow(id: f.rows[0].id!)?.state == .claimed)
            #expect(try await catalog.archives(in: [.open]).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scene.archives).filter { $0.hasPrefix(".") }.isEmpty)
        }
    }
}
