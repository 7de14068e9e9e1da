#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreArchive
import NacreCatalog
import NacreCodec
import NacreEngine
import NacreImage
import NacreStore
import NacreTestSupport
import Testing
@testable import NacreDaemon

/// `kill -9` at random moments while files flow in, restart, and check that every input ends in
/// exactly one place, the archives verify, and the catalog agrees with them.
/// The benchmark (`bench/crash-injection.sh`) runs the same check with ≥ 100 kills.
extension PipelineProcessTests {
    @Suite("Crash injection")
    struct CrashInjectionTests {
        /// ≈10 kills in the test suite; `NACRE_CRASH_KILLS` raises it for the benchmark.
        static let kills = ProcessInfo.processInfo.environment["NACRE_CRASH_KILLS"].flatMap(Int.init) ?? 10
        /// Inputs (distinct photo crops, at most 75).
        static let inputs = min(75, ProcessInfo.processInfo.environment["NACRE_CRASH_INPUTS"].flatMap(Int.init) ?? 30)

        @Test func killNineAtRandomMomentsLosesAndDuplicatesNothing() async throws {
            let daemon = try PipelineDaemon(yaml: pipelineConfigYAML(maxImages: 3, maxAgeSeconds: 1.5))
            defer { daemon.remove() }
            defer { if daemon.isRunning { kill(daemon.pid, SIGKILL) } }
            let crops = try TestCrops.make(count: Self.inputs, prefix: "crash")
            var random = SystemRandomNumberGenerator()

            // Files flow in at a steady pace over the whole kill loop (mean 1.9 s per cycle).
            let interval = Double(Self.kills) * 1.9 / Double(crops.count)
            let feeder = Task {
                for crop in crops {
                    dropIntoInbox(daemon.inbox, name: crop.name, bytes: crop.png)
                    try? await Task.sleep(for: .seconds(interval))
                }
            }
            var killedAt: [Double] = []
            for _ in 0..<Self.kills {
                try daemon.start()
                let delay = Double.random(in: 0.3...3.5, using: &random)
                killedAt.append(delay)
                try await Task.sleep(for: .seconds(delay))
                await daemon.kill9()
            }
            await feeder.value

            // A last, undisturbed run drains everything.
            try daemon.start()
            #expect(await daemon.waitRunning(), "log:\n\(daemon.log.suffix(4000))")
            let drained = await eventually(timeout: 120) {
                guard let queue = await daemon.status()?["queue"] else { return false }
                let inboxEmpty = ((try? FileManager.default.contentsOfDirectory(atPath: daemon.inbox)) ?? []).filter { !$0.hasPrefix(".") }.isEmpty
                return inboxEmpty && queue["waiting"] == 0 && queue["claimed"] == 0 && queue["encoded"] == 0
            }
            #expect(drained, "kills at \(killedAt); log:\n\(daemon.log.suffix(4000))")
            let sealed = await daemon.request(.seal)
            #expect(sealed?["ok"] == true, "\(String(describing: sealed))")
            #expect(await daemon.stop() == 0)

            try await checkEveryInputInExactlyOnePlace(daemon, crops: crops, context: "kills at \(killedAt)")
            let log = daemon.log
            let recoveries = log.components(separatedBy: "recovery:").count - 1
            let archives = daemon.archivePaths().count
            print("crash injection: \(Self.kills) kills, \(crops.count) inputs, \(archives) archives, \(recoveries) recovery actions logged")
            if let keep = ProcessInfo.processInfo.environment["NACRE_CRASH_LOG"] {
                try log.write(toFile: keep, atomically: true, encoding: .utf8)
            }
        }

        /// Every input in exactly one place; archives intact and restoring to their recorded PSNR;
        /// the catalog agreeing with the archive files.
        private func checkEveryInputInExactlyOnePlace(_ daemon: PipelineDaemon, crops: [TestCrops.Crop], context: String) async throws {
            var places: [String: [String]] = [:]
            let byName = Dictionary(uniqueKeysWithValues: crops.map { ($0.name, $0) })
            let catalog = try Catalog(path: daemon.catalogPath)
            let engine = try Engine(threads: 1)
            var decoders: [SHA256Digest: CodecModel] = [:]
            for path in daemon.archivePaths() {
                let reader = try ArchiveReader.open(path: path)
                #expect(reader.verify().isIntact, "\(path) is damaged")
                let manifest = try reader.readManifest()
                if decoders[manifest.modelSHA256] == nil {
                    decoders[manifest.modelSHA256] = try ImageRestorer.models(fromModelFrame: try reader.readModel(), engine: engine,
                                                                                includingDenoiser: false).codec
                }
                let codec = decoders[manifest.modelSHA256]!
                let archiveID = String(URL(fileURLWithPath: path).lastPathComponent.dropLast(".nacre".count))
                let archive = try await catalog.archive(id: archiveID)
                #expect(archive?.state == .indexed, "\(archiveID) is \(String(describing: archive?.state)) in the catalog")
                let rows = try await catalog.images(ImageFilter(archiveID: archiveID), limit: 1000).images
                #expect(Set(rows.map(\.displayName)) == Set(reader.images.map(\.displayName)), "catalog and \(archiveID) disagree")
                for (position, listing) in reader.images.enumerated() {
                    places[listing.displayName, default: []].append("archive \(archiveID)")
                    let row = rows.first { $0.displayName == listing.displayName }
                    #expect(row?.frameOffset == Int64(listing.frame.offset))
                    let image = try reader.readImage(at: position)
                    guard let crop = byName[listing.displayName] else {
                        Issue.record("\(archiveID) holds \(listing.displayName), which is not an input")
                        continue
                    }
                    #expect(image.record.originalSHA256 == SHA256.hash(crop.png))
                    let restored = try ImageRestorer.restoredPixels(try ImageRestorer.decode(image, with: codec),
                                                                    mode: ArchivedImageMode(record: image.record))
                    let psnr = try PSNR(reference: crop.pixels, distorted: restored).decibels
                    #expect(abs(psnr - Double(image.record.psnr)) <= 0.01, "\(listing.displayName): \(psnr) vs \(image.record.psnr) dB")
                }
            }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: daemon.inbox)) ?? [] where byName[name] != nil {
                places[name, default: []].append("inbox")
            }
            for name in daemon.processingNames() { places[name, default: []].append("processing") }
            for reason in daemon.quarantineReasons() {
                places[reason["original_name"] ?? "?", default: []].append("quarantine (\(reason["code"] ?? "?"))")
            }
            for crop in crops {
                let found = places[crop.name] ?? []
                #expect(found.count == 1, "\(crop.name) is in \(found.count) places: \(found); \(context)")
            }
            #expect(places.keys.allSatisfy { byName[$0] != nil }, "unexpected entries: \(places.keys.filter { byName[$0] == nil })")

            // Nothing half-done is left, and the catalog's totals match the files.
            let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: daemon.archives)) ?? []).filter { $0.hasPrefix(".") }
            #expect(leftovers.isEmpty, "temporary archive files left: \(leftovers)")
            #expect(try await catalog.archives(in: [.open, .sealed, .verified]).isEmpty)
            #expect(try await catalog.ingestRows(in: IngestState.unfinished).isEmpty)
            let indexed = try await catalog.archives(in: [.indexed]).map(\.path).sorted()
            #expect(indexed == daemon.archivePaths(), "catalog archives \(indexed) vs files \(daemon.archivePaths())")
            #expect(try await catalog.stats().imageCount == crops.count)
            let done = try await catalog.ingestRows(in: [.done])
            #expect(Set(done.map { ProcessingFolder.fileName(of: $0.originalPath) }) == Set(crops.map(\.name)))
            #expect(done.count == crops.count, "an input was archived twice (\(done.count) done rows for \(crops.count) inputs)")
        }
    }
}
