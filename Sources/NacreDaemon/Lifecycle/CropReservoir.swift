#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import NacreArchive
import NacreCatalog
import NacreCodec
import NacreFiles
import NacreImage
import Synchronization

/// The bounded sample of training crops that re-training learns from (docs/PIPELINE.md, "Model
/// lifecycle"): one square crop per ingested original, kept by reservoir sampling
/// (``ReservoirSampler``) so the sample represents the whole history, stored as lossless PNG
/// under `STATE_DIR/reservoir/{train,holdout}/` with a row per crop in the catalog's
/// `reservoir` table.
///
/// Crops are cut when an image is indexed, just before its original is deleted (the pipeline
/// calls ``offer(_:)``), so a rolled-back image never leaves a crop. The sampling decision comes
/// first and is cheap; only a kept crop costs a second PNG decode. A failure here is logged and
/// never disturbs ingest. With `reservoir_crops: 0` the reservoir is off: nothing is kept and
/// ``prepare()`` deletes what an earlier configuration kept.
actor CropReservoir {
    /// Catalog key of the count of crops ever offered (Algorithm R's `n`).
    static let offeredKey = "reservoir.offered"

    let folder: String
    /// Crops trained on.
    nonisolated var trainingFolder: String { folder + "/train" }
    /// Crops held back for the gate.
    nonisolated var holdoutFolder: String { folder + "/holdout" }

    private var settings: DaemonConfig.Retrain
    private let catalog: Catalog
    private let logger: Logger
    private let queue = DispatchQueue(label: "nacre.reservoir", qos: .utility)
    /// Writes the crops cut at encode time in CPU time the encoder leaves idle: they are not
    /// needed before the seal, and at normal priority they took CPU time from the encoder.
    private let precutWriter = WorkerThread(name: "nacre.reservoir.precut", background: true)

    deinit { precutWriter.finish() }
    private let random: @Sendable (Int) -> Int
    /// Crops cut at encode time from the pixels the encoder decoded, by claimed path, until
    /// their offer uses or discards them (``precut(claimedPath:sourceSHA256:pixels:)``).
    private var precuts: [String: Precut] = [:]
    /// The reservoir's size and offer count as of the last offer (nil: not read yet), and the
    /// precuts asked for since, to estimate each image's chance of being kept.
    private var lastOffer: (held: Int, offered: Int)?
    private var encodedSinceOffer = 0
    /// While an offer runs, its new files have no rows yet: a `prepare()` from a reload in that
    /// window must not take them for orphans.
    private var offerInProgress = false

    /// A crop being written at encode time; `path` is fixed first so ``prepare()`` spares it.
    private struct Precut {
        var path: String
        var sourceSHA256: String
        var heldBack: Bool
        var write: Task<Void, any Error>
        /// Set when the write has ended (either way).
        var written: WriteFlag
    }

    /// Whether a background write has ended: the offer never waits for one that has not (its
    /// thread runs under SCHED_IDLE and may wait long on a busy machine).
    final class WriteFlag: Sendable {
        private let ended = Mutex(false)
        func set() { ended.withLock { $0 = true } }
        var isSet: Bool { ended.withLock { $0 } }
    }

    /// - Parameter random: a uniform integer in `0..<n` (a seeded one in tests).
    init(stateDir: String, settings: DaemonConfig.Retrain, catalog: Catalog, logger: Logger,
         random: @escaping @Sendable (Int) -> Int = { Int.random(in: 0..<$0) }) {
        folder = stateDir + "/reservoir"
        self.settings = settings
        self.catalog = catalog
        self.logger = logger
        self.random = random
    }

    var isEnabled: Bool { settings.reservoirCrops > 0 }

    func apply(_ settings: DaemonConfig.Retrain) async {
        let shrunk = settings.reservoirCrops < self.settings.reservoirCrops
        self.settings = settings
        if shrunk { await prepare() }
    }

    /// Creates the folders; deletes every crop when the reservoir is off, evicts random crops
    /// over the capacity, and removes files no row knows (left by a crash between the file and
    /// the catalog write).
    func prepare() async {
        do {
            for path in [folder, trainingFolder, holdoutFolder] {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            }
            var crops = try await catalog.reservoirCrops()
            let capacity = settings.reservoirCrops
            if crops.count > capacity {
                logger.notice("reservoir: deleting crops over the configured size", metadata: [
                    "crops": "\(crops.count)", "reservoir_crops": "\(capacity)"])
            }
            while crops.count > capacity {
                let victim = crops.remove(at: capacity == 0 ? crops.count - 1 : random(crops.count))
                try await catalog.removeReservoirCrop(id: victim.id!)
                unlink(victim.path)
            }
            if capacity == 0 { try await catalog.setMetaValue(nil, forKey: Self.offeredKey) }
            let known = Set(crops.map(\.path) + precuts.values.map(\.path))
            // A precut still being written has a temporary file (AtomicFile); removing it would
            // fail that write. Temporaries are crash leftovers only when no write is running.
            let writing = precuts.values.contains { !$0.written.isSet }
            for sub in [trainingFolder, holdoutFolder] where !offerInProgress {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: sub)) ?? []
                where !known.contains(sub + "/" + name) && !(writing && name.hasPrefix(AtomicFile.temporaryPrefix)) {
                    unlink(sub + "/" + name)
                }
            }
        } catch {
            logger.error("reservoir: cannot prepare \(folder): \(error)")
        }
    }

    /// Called once an image is encoded, with the pixels the encoder decoded: when the image is
    /// likely to be kept at its offer, its crop is cut now and written in the background, so the
    /// offer needs no second read and decode of the original (measured: 1.5 s of a 500-photo
    /// batch). The offer's own sampling decision stays the one that counts; a precut it does not
    /// keep is deleted, and a kept image without one is cut from its file as before.
    func precut(claimedPath: String, sourceSHA256: String, pixels: PixelBuffer) async {
        guard isEnabled else { return }
        if lastOffer == nil {
            do {
                lastOffer = (try await catalog.reservoirCrops().count,
                             Int(try await catalog.metaValue(forKey: Self.offeredKey) ?? "0") ?? 0)
            } catch {
                return  // the offer cuts from the file
            }
        }
        guard let (held, offered) = lastOffer else { return }
        encodedSinceOffer += 1
        let capacity = settings.reservoirCrops
        guard held + encodedSinceOffer <= capacity || random(offered + encodedSinceOffer) < capacity else { return }
        let crop: PixelBuffer
        do {
            guard let cut = try Self.crop(pixels, side: settings.cropSide, random: random) else { return }
            crop = cut
        } catch {
            return
        }
        let heldBack = ReservoirSampler.isHeldBack(sourceSHA256: sourceSHA256, percent: settings.holdoutPercent)
        let path = (heldBack ? holdoutFolder : trainingFolder) + "/" + String(sourceSHA256.prefix(16)) + "-p\(offered + encodedSinceOffer).png"
        let written = WriteFlag()
        let write = Task { [precutWriter] in
            defer { written.set() }
            try await precutWriter.run {
                try AtomicFile.write(try PNGWriter.encode(crop, layout: PNGLayout(channels: .rgb), fast: true), to: path,
                                     mode: 0o600, durable: false)
            }
        }
        if let replaced = precuts.updateValue(Precut(path: path, sourceSHA256: sourceSHA256, heldBack: heldBack, write: write,
                                                     written: written),
                                              forKey: claimedPath), replaced.path != path {
            // Encoded again (its batch was rolled back): the earlier crop goes.
            _ = await replaced.write.result
            unlink(replaced.path)
        }
    }

    /// Waits until every crop cut at encode time so far is written (tests; the offer itself never
    /// waits for an unfinished one).
    func waitForPrecutWrites() async {
        for entry in precuts.values { _ = await entry.write.result }
    }

    /// Queues `job` on the thread that writes the precut crops, behind the writes queued so far
    /// (tests hold the writes back with it).
    func enqueueOnPrecutWriter(_ job: @escaping @Sendable () -> Void) {
        precutWriter.async(job)
    }

    /// Offers one crop of each indexed row's original (still in its claim folder). Never throws:
    /// the reservoir must not hold up ingest.
    ///
    /// A batch at a time: the sampling decisions are taken in order, as Algorithm R takes them
    /// one by one; the kept crops are cut on all cores and written without their own fsyncs;
    /// one `syncfs` makes them durable; one transaction records them with the offer count; only
    /// then are evicted files deleted. A crash in between leaves files no row knows, which
    /// ``prepare()`` removes.
    func offer(_ rows: [IngestRecord]) async {
        guard isEnabled, !rows.isEmpty else { return }
        offerInProgress = true
        defer { offerInProgress = false }
        var crops: [ReservoirCropRecord]
        var offered: Int
        do {
            crops = try await catalog.reservoirCrops()
            offered = Int(try await catalog.metaValue(forKey: Self.offeredKey) ?? "0") ?? 0
        } catch {
            logger.warning("reservoir: cannot read the reservoir; no crops kept from this batch: \(error)")
            return
        }
        let sampler = ReservoirSampler(capacity: settings.reservoirCrops)
        var picks: [Pick] = []
        var held = crops.count
        for row in rows {
            let decision = sampler.decide(offeredBefore: offered, held: held, random: random)
            offered += 1
            guard decision != .skip else { continue }
            if decision == .add { held += 1 }
            // Drawn here, in order, so the cuts can run in parallel with a sequential generator.
            picks.append(Pick(path: row.claimedPath, number: offered, decision: decision,
                              position: (random(Int(Int32.max)), random(Int(Int32.max)))))
        }
        // Precuts of kept images are used once written; the others are deleted (an unfinished
        // one when its write ends: a kept image without a precut is cut from its file).
        var precut: [String: ReservoirCropRecord] = [:]
        var superseded: [String] = []
        let kept = Set(picks.map(\.path))
        for row in rows {
            guard let entry = precuts.removeValue(forKey: row.claimedPath) else { continue }
            guard entry.written.isSet else {
                Task { _ = await entry.write.result; unlink(entry.path) }
                continue
            }
            let written = await entry.write.result
            if kept.contains(row.claimedPath), case .success = written {
                precut[row.claimedPath] = ReservoirCropRecord(path: entry.path, sourceSHA256: entry.sourceSHA256, heldBack: entry.heldBack)
            } else {
                superseded.append(entry.path)
            }
        }
        let cuts: [Result<ReservoirCropRecord?, any Error>]
        do {
            cuts = try await cut(picks, precut: precut)
        } catch {
            logger.warning("reservoir: cannot make this batch's crops durable; none kept: \(error)")
            for path in superseded + precut.values.map(\.path) { unlink(path) }
            return
        }
        var evicted: [ReservoirCropRecord] = []
        var sources = Set(crops.map(\.sourceSHA256))
        for (pick, cut) in zip(picks, cuts) {
            let record: ReservoirCropRecord
            switch cut {
            case .failure(let error):
                logger.warning("reservoir: could not keep a crop of \(pick.path): \(error)")
                continue
            case .success(nil):
                continue
            case .success(let kept?):
                record = kept
            }
            // The same photo ingested again (or offered again after a crash): one crop is enough.
            guard sources.insert(record.sourceSHA256).inserted else {
                superseded.append(record.path)
                continue
            }
            // A slot past the end belonged to an earlier pick of this batch that kept nothing.
            if case .replace(let slot) = pick.decision, slot < crops.count {
                let old = crops[slot]
                if old.id != nil { evicted.append(old) } else { superseded.append(old.path) }
                sources.remove(old.sourceSHA256)
                crops[slot] = record
            } else if crops.count < settings.reservoirCrops {
                crops.append(record)
            } else {
                superseded.append(record.path)
            }
            logger.debug("reservoir: keeping a crop", metadata: ["file": "\(record.path)", "held_back": "\(record.heldBack)"])
        }
        do {
            try await catalog.updateReservoir(removing: evicted.compactMap(\.id), adding: crops.filter { $0.id == nil },
                                              offered: offered, offeredKey: Self.offeredKey)
        } catch {
            logger.warning("reservoir: cannot record this batch's crops; none kept: \(error)")
            superseded += crops.filter { $0.id == nil }.map(\.path)
            evicted = []
        }
        for path in superseded + evicted.map(\.path) { unlink(path) }
        lastOffer = (crops.count, offered)
        encodedSinceOffer = 0
    }

    /// A kept sampling decision, before its crop is cut.
    private struct Pick: Sendable {
        var path: String
        /// The offer's 1-based number, part of the crop's file name.
        var number: Int
        var decision: ReservoirSampler.Decision
        /// Two uniform draws for the crop's position.
        var position: (Int, Int)
    }

    /// Cuts the picks' crops on all cores and writes them (atomically, without fsyncs), then makes
    /// them durable together. Per pick: the record, nil for an image too small to crop, or the
    /// error that pick met. Throws only when the files cannot be made durable.
    private func cut(_ picks: [Pick], precut: [String: ReservoirCropRecord]) async throws -> [Result<ReservoirCropRecord?, any Error>] {
        guard !picks.isEmpty else { return [] }
        let side = settings.cropSide, holdout = settings.holdoutPercent
        let (trainingFolder, holdoutFolder) = (self.trainingFolder, self.holdoutFolder)
        return try await Self.onQueue(queue) {
            let results = Mutex([Result<ReservoirCropRecord?, any Error>](repeating: .success(nil), count: picks.count))
            DispatchQueue.concurrentPerform(iterations: picks.count) { index in
                let pick = picks[index]
                let result = Result { () throws -> ReservoirCropRecord? in
                    if let ready = precut[pick.path] { return ready }
                    let bytes = try ProcessingFolder.read(pick.path, limit: Int.max)
                    let sha = SHA256.hash(bytes).hex
                    let pixels = try PNGReader.decode(bytes).pixels
                    var draws = [pick.position.0, pick.position.1].makeIterator()
                    guard let crop = try Self.crop(pixels, side: side, random: { draws.next()! % $0 }) else { return nil }
                    let heldBack = ReservoirSampler.isHeldBack(sourceSHA256: sha, percent: holdout)
                    let file = (heldBack ? holdoutFolder : trainingFolder) + "/" + String(sha.prefix(16)) + "-\(pick.number).png"
                    try AtomicFile.write(try PNGWriter.encode(crop, layout: PNGLayout(channels: .rgb), fast: true), to: file,
                                         mode: 0o600, durable: false)
                    return ReservoirCropRecord(path: file, sourceSHA256: sha, heldBack: heldBack)
                }
                results.withLock { $0[index] = result }
            }
            let cuts = results.withLock { $0 }
            if cuts.contains(where: { (try? $0.get()) != nil }) {
                try FileSystemSync.sync(containing: trainingFolder)
            }
            return cuts
        }
    }

    /// Training and held-back crop counts and the number of crops ever offered.
    func counts() async throws -> (training: Int, heldBack: Int, offered: Int) {
        let crops = try await catalog.reservoirCounts()
        let offered = Int(try await catalog.metaValue(forKey: Self.offeredKey) ?? "0") ?? 0
        return (crops.total - crops.heldBack, crops.heldBack, offered)
    }

    /// A random square crop of `side` px (smaller for a smaller image: the largest multiple of
    /// 64 that fits), RGB only; nil for an image under 64 px.
    static func crop(_ image: PixelBuffer, side wanted: Int, random: (Int) -> Int) throws -> PixelBuffer? {
        let side = min(wanted, min(image.width, image.height) / 64 * 64)
        guard side >= 64 else { return nil }
        return try image.window(x: random(image.width - side + 1), y: random(image.height - side + 1), width: side, height: side)
    }

    private static func onQueue<T: Sendable>(_ queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
