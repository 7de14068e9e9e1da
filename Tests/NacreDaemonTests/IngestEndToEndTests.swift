#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreArchive
import NacreCatalog
import NacreCodec
import NacreEngine
import NacreImage
import NacreTestSupport
import Synchronization
import Testing
@testable import NacreDaemon

/// A real daemon ingests real photo crops: the `seal` command, the sealed archive verified and
/// indexed, restores matching the PSNR recorded at encode, originals gone only after indexing.
extension PipelineProcessTests {
    @Suite("Ingest end to end")
    struct IngestEndToEndTests {
        /// Once with the default verification (every image decoded to pixels), once with
        /// `decode: latents` (latents compared, every 4th image decoded to pixels).
        @Test(arguments: ["", "verify: {decode: latents, pixel_check_every: 4}"])
        func ingestSealVerifyIndexAndRestore(verify: String) async throws {
            let daemon = try PipelineDaemon(yaml: pipelineConfigYAML(maxImages: 100, maxAgeSeconds: 600, extraTop: verify))
            defer { daemon.remove() }
            try daemon.start()
            defer { if daemon.isRunning { kill(daemon.pid, SIGKILL) } }
            #expect(await daemon.waitRunning(), "log:\n\(daemon.log)")

            let empty = try #require(await daemon.request(.seal))
            #expect(empty["result"]?["sealed"] == false)
            #expect(empty["result"]?["message"] == "nothing to seal")

            let crops = try TestCrops.make(count: 6)
            for crop in crops { dropIntoInbox(daemon.inbox, name: crop.name, bytes: crop.png) }
            #expect(await eventually(timeout: 120) { await daemon.status()?["open_batch"]?["images"] == 6 }, "log:\n\(daemon.log)")
            let status = try #require(await daemon.status())
            #expect(status["queue"]?["appended"] == 6)
            #expect(status["open_batch"]?["raw_bytes"] == .int(6 * 64 * 64 * 3))
            let modelID = try #require(status["model"]?["id"]?.stringValue)
            #expect(daemon.processingNames().sorted() == crops.map(\.name).sorted(), "originals wait in the processing folder")

            // Watch the originals disappear while the batch is sealed: each must already be indexed.
            let catalog = try Catalog(path: daemon.catalogPath)
            let violations = Mutex<[String]>([])
            let watching = Mutex(true)
            let watcher = Task {
                var present = Set(daemon.processingNames())
                while watching.withLock({ $0 }) {
                    let now = Set(daemon.processingNames())
                    for gone in present.subtracting(now) where (try? await catalog.images(named: gone))?.isEmpty != false {
                        violations.withLock { $0.append(gone) }
                    }
                    present = now
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            let sealed = try #require(await daemon.request(.seal), "log:\n\(daemon.log)")
            watching.withLock { $0 = false }
            await watcher.value
            #expect(sealed["ok"] == true, "\(sealed)")
            #expect(sealed["result"]?["sealed"] == true)
            #expect(sealed["result"]?["images"] == 6)
            #expect(sealed["result"]?["state"] == "indexed")
            let archiveID = try #require(sealed["result"]?["archive_id"]?.stringValue)
            #expect(violations.withLock { $0 }.isEmpty, "originals deleted before their image was indexed: \(violations.withLock { $0 })")
            #expect(await eventually(timeout: 10) { daemon.processingNames().isEmpty })
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: daemon.inbox)) ?? []).isEmpty)

            // The archive alone: intact, the daemon's model, every image restores to its recorded PSNR.
            let path = daemon.archives + "/" + archiveID + ".nacre"
            #expect(daemon.archivePaths() == [path])
            let reader = try ArchiveReader.open(path: path)
            #expect(reader.verify().isIntact)
            let manifest = try reader.readManifest()
            #expect(manifest.modelID == modelID)
            #expect(SHA256.hash(try reader.readModel()).hex == modelID)
            // The built-in model's archives carry its denoiser (encode.denoiser defaults to true).
            #expect(try ModelFrameContent(blob: try reader.readModel()).denoiser != nil)
            let restored = try restoreAll(archive: path)
            #expect(restored.map(\.name).sorted() == crops.map(\.name).sorted())
            for image in restored {
                let crop = try #require(crops.first { $0.name == image.name })
                let psnr = try PSNR(reference: crop.pixels, distorted: image.pixels).decibels
                #expect(abs(psnr - image.recordedPSNR) <= 0.01, "\(image.name): restored \(psnr) dB, recorded \(image.recordedPSNR) dB")
                #expect(image.recordedPSNR > 20, "\(image.name): \(image.recordedPSNR) dB is not a plausible encode")
                #expect(image.record.originalSHA256 == SHA256.hash(crop.png))
            }

            // The catalog agrees: archive indexed, images with their source paths, rows done, model champion.
            let archive = try #require(try await catalog.archive(id: archiveID))
            #expect(archive.state == .indexed)
            #expect(archive.sealedAt != nil && archive.verifiedAt != nil)
            #expect(archive.modelID == modelID)
            for crop in crops {
                let image = try await catalog.image(named: crop.name)
                #expect(image.archiveID == archiveID)
                #expect(image.sourcePath == daemon.inbox + "/" + crop.name)
                #expect(image.originalSHA256 == SHA256.hash(crop.png).hex)
            }
            let rows = try await catalog.ingestRows(in: Set(IngestState.allCases))
            #expect(rows.count == 6 && rows.allSatisfy { $0.state == .done && $0.batchID == archiveID })
            #expect(try await catalog.champion()?.id == modelID)
            #expect(try await catalog.recentEvents(kind: "archive.indexed").first?.subject == archiveID)

            // The whole loop over the socket: `list` shows them, `restore` writes a PNG whose
            // PSNR against the original is the one recorded at encode.
            let listed = try #require(await daemon.request(.list))
            #expect(listed["result"]?["images"]?.arrayValue?.count == 6, "\(listed)")
            let crop = crops[0]
            let restoredReply = try #require(await daemon.request(.restore, args: ["image": .string(crop.name)]))
            let restoredPath = try #require(restoredReply["result"]?["path"]?.stringValue, "\(restoredReply)")
            #expect(restoredPath == daemon.folder.sub("restore/" + crop.name))
            let written = try PNGReader.read(contentsOfFile: restoredPath).pixels
            let recorded = try #require(restored.first { $0.name == crop.name }).recordedPSNR
            #expect(abs(try PSNR(reference: crop.pixels, distorted: written).decibels - recorded) <= 0.01)
            let denoised = try #require(await daemon.request(.restore, args: ["image": .string(crop.name), "denoise": true,
                                                                              "to": .string(restoredPath), "overwrite": true]))
            #expect(denoised["result"]?["denoised"] == true, "\(denoised)")

            #expect(await daemon.stop() == 0, "log:\n\(daemon.log)")
        }

        /// `encode.adapt_seconds`: before sealing, the decoder is fine-tuned on the batch; the
        /// archive carries the adapted decoder (the catalog records it) and the denoiser only if it
        /// still helps that decoder, restores give the re-measured PSNR, and the batch is at least
        /// as good as with the base decoder.
        @Test func perCollectionAdaptationSealsTheAdaptedDecoder() async throws {
            let daemon = try PipelineDaemon(yaml: pipelineConfigYAML(encodeExtra: "adapt_seconds: 4"))
            defer { daemon.remove() }
            try daemon.start()
            defer { if daemon.isRunning { kill(daemon.pid, SIGKILL) } }
            #expect(await daemon.waitRunning(), "log:\n\(daemon.log)")
            let crops = try TestCrops.make(count: 4, side: 96, prefix: "adapt")
            for crop in crops { dropIntoInbox(daemon.inbox, name: crop.name, bytes: crop.png) }
            #expect(await eventually(timeout: 120) { await daemon.status()?["open_batch"]?["images"] == 4 }, "log:\n\(daemon.log)")
            let championID = try #require(await daemon.status()?["model"]?["id"]?.stringValue)
            let sealed = try #require(await daemon.request(.seal), "log:\n\(daemon.log)")
            #expect(sealed["result"]?["state"] == "indexed", "\(sealed); log:\n\(daemon.log.suffix(3000))")

            let path = try #require(daemon.archivePaths().first)
            let reader = try ArchiveReader.open(path: path)
            let manifest = try reader.readManifest()
            let catalog = try Catalog(path: daemon.catalogPath)
            let event = try #require(try await catalog.recentEvents(limit: 50, kind: "batch.adapted").first)
            // Four crops fine-tuned on for 4 s: the decoder's error on them goes down.
            #expect(manifest.modelID != championID, "the batch kept the base decoder: \(event.message)")
            #expect(manifest.codecSettings["adaptation.base"] != nil)
            #expect(SHA256.hash(try reader.readModel()) == manifest.modelSHA256)
            // The built-in denoiser goes along, bound to the adapted decoder, only if it still
            // raised the batch's mean PSNR through it; the event says which.
            let frame = try ModelFrameContent(blob: try reader.readModel())
            if let block = frame.denoiser {
                let denoiser = try Denoiser(serialized: block, engine: try Engine(threads: 1))
                #expect(denoiser.decoderIdentifierString == manifest.codecSettings["codec.modelIdentifier"])
                #expect(event.message.contains(", with the denoiser"), "\(event.message)")
            } else {
                #expect(event.message.contains(", without the denoiser"), "\(event.message)")
            }
            let archiveRow = try #require(try await catalog.archive(id: String(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)))
            #expect(archiveRow.modelID == manifest.modelID, "the catalog names the archive's own decoder")
            #expect(try await catalog.model(id: manifest.modelID) != nil)
            for image in try restoreAll(archive: path) {
                let crop = try #require(crops.first { $0.name == image.name })
                let psnr = try PSNR(reference: crop.pixels, distorted: image.pixels).decibels
                #expect(abs(psnr - image.recordedPSNR) <= 0.01, "\(image.name): restored \(psnr) dB, recorded \(image.recordedPSNR) dB")
            }
            #expect(await daemon.stop() == 0)
        }

        @Test func statusAnswersWhileAnImageEncodes() async throws {
            let daemon = try PipelineDaemon(yaml: pipelineConfigYAML())
            defer { daemon.remove() }
            try daemon.start()
            defer { if daemon.isRunning { kill(daemon.pid, SIGKILL) } }
            #expect(await daemon.waitRunning(), "log:\n\(daemon.log)")

            // A 512×512 image (the fixture crops tiled) takes long enough to encode to watch.
            let tiles = try TestCrops.make(count: 3, side: 128, prefix: "tile")
            var rgb: [UInt8] = []
            for row in 0..<512 {
                for column in 0..<4 {
                    let tile = tiles[((row / 128) * 4 + column) % tiles.count].pixels
                    let start = (row % 128) * 128 * 3
                    rgb += tile.rgb[start..<(start + 128 * 3)]
                }
            }
            let big = try PNGWriter.encode(try PixelBuffer(width: 512, height: 512, rgb: rgb), layout: PNGLayout(channels: .rgb))
            dropIntoInbox(daemon.inbox, name: "big.png", bytes: big)
            var duringEncode: [Double] = []
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let started = Date()
                guard let status = await daemon.status() else { break }
                let latency = Date().timeIntervalSince(started)
                if status["open_batch"]?["images"] == 1 { break }
                if status["queue"]?["claimed"] == 1 { duringEncode.append(latency) }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(duringEncode.count >= 2, "status was not answered while the image was being encoded")
            // Generous: the machine running the tests may be busy; a blocked actor would answer
            // only after the encode, i.e. never with `claimed == 1`.
            #expect((duringEncode.max() ?? 0) < 5, "status took \(duringEncode.max() ?? 0) s during an encode")
            #expect(await daemon.stop() == 0)
        }

        @Test(.enabled(if: BadInputTests.deviceID("/dev/shm") != BadInputTests.deviceID("/tmp"), "/dev/shm is not another file system here"))
        func inboxAndDoneFolderOnAnotherFileSystem() async throws {
            let other = "/dev/shm/nacre-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: other) }
            let daemon = try PipelineDaemon(yaml: pipelineConfigYAML(originals: "policy: move, done_dir: \(other)/done", inbox: other + "/inbox"))
            defer { daemon.remove() }
            try daemon.start()
            defer { if daemon.isRunning { kill(daemon.pid, SIGKILL) } }
            #expect(await daemon.waitRunning(), "log:\n\(daemon.log)")

            let crops = try TestCrops.make(count: 3, prefix: "exdev")
            for crop in crops { dropIntoInbox(other + "/inbox", name: crop.name, bytes: crop.png) }
            #expect(await eventually(timeout: 60) { await daemon.status()?["open_batch"]?["images"] == 3 }, "log:\n\(daemon.log)")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: other + "/inbox")) ?? []).isEmpty, "claimed by copy, then unlinked")
            #expect(daemon.processingNames().sorted() == crops.map(\.name).sorted())
            let sealed = await daemon.request(.seal)
            #expect(sealed?["result"]?["images"] == 3, "\(String(describing: sealed))")
            for crop in crops {
                #expect(FileManager.default.contents(atPath: other + "/done/" + crop.name) == Data(crop.png))
            }
            #expect(daemon.processingNames().isEmpty)
            #expect(await daemon.stop() == 0)
        }

        @Test func unusableModelStopsTheDaemonWithAnError() async throws {
            let daemon = try PipelineDaemon(yaml: pipelineConfigYAML(model: "missing.nxcm"))
            defer { daemon.remove() }
            try daemon.start()
            defer { if daemon.isRunning { kill(daemon.pid, SIGKILL) } }
            #expect(await eventually(timeout: 60) { !daemon.isRunning }, "the daemon kept running without a model")
            #expect(await daemon.stop() == 1)
            #expect(daemon.log.contains("cannot load the encode model \(daemon.folder.sub("missing.nxcm"))"), "log:\n\(daemon.log)")
        }

        @Test func batchSealsByCountAndMovesOriginalsToDone() async throws {
            let daemon = try PipelineDaemon(yaml: pipelineConfigYAML(maxImages: 2, originals: "policy: move, done_dir: done"))
            defer { daemon.remove() }
            try daemon.start()
            defer { if daemon.isRunning { kill(daemon.pid, SIGKILL) } }
            #expect(await daemon.waitRunning(), "log:\n\(daemon.log)")

            let crops = try TestCrops.make(count: 5, prefix: "count")
            for crop in crops { dropIntoInbox(daemon.inbox, name: crop.name, bytes: crop.png) }
            // Two full batches seal by count; the fifth image waits in the open batch.
            #expect(await eventually(timeout: 120) {
                let queue = await daemon.status()?["queue"]
                return queue?["appended"] == 1 && daemon.archivePaths().count == 2 && daemon.processingNames().count == 1
            }, "log:\n\(daemon.log)")
            let done = Set((try? FileManager.default.contentsOfDirectory(atPath: daemon.folder.sub("done"))) ?? [])
            #expect(done.count == 4)
            for crop in crops where done.contains(crop.name) {
                #expect(FileManager.default.contents(atPath: daemon.folder.sub("done/" + crop.name)) == Data(crop.png))
            }
            #expect(await daemon.stop() == 0, "log:\n\(daemon.log)")
            // Graceful stop parks the open batch: its image is back in `claimed`, nothing sealed.
            let catalog = try Catalog(path: daemon.catalogPath)
            let claimed = try await catalog.ingestRows(in: [.claimed])
            #expect(claimed.count == 1)
            #expect(daemon.archivePaths().count == 2)
            #expect(try await catalog.archives(in: [.open]).isEmpty)
        }
    }
}
