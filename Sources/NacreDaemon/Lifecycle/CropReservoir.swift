#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import NacreArchive
import NacreCatalog
import NacreCodec
import NacreImage

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
    private let random: @Sendable (Int) -> Int

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
            let known = Set(crops.map(\.path))
            for sub in [trainingFolder, holdoutFolder] {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: sub)) ?? [] where !known.contains(sub + "/" + name) {
                    unlink(sub + "/" + name)
                }
            }
        } catch {
            logger.error("reservoir: cannot prepare \(folder): \(error)")
        }
    }

    /// Offers one crop of each indexed row's original (still in its claim folder). Never throws:
    /// the reservoir must not hold up ingest.
    func offer(_ rows: [IngestRecord]) async {
        guard isEnabled, !rows.isEmpty else { return }
        // Read once per batch, then kept in step with each change.
        var crops: [ReservoirCropRecord]
        var offered: Int
        do {
            crops = try await catalog.reservoirCrops()
            offered = Int(try await catalog.metaValue(forKey: Self.offeredKey) ?? "0") ?? 0
        } catch {
            logger.warning("reservoir: cannot read the reservoir; no crops kept from this batch: \(error)")
            return
        }
        for row in rows {
            do {
                try await offer(row, crops: &crops, offered: &offered)
            } catch {
                logger.warning("reservoir: could not keep a crop of \(row.claimedPath): \(error)")
            }
        }
        // Once per batch, not per image: a crash before this only makes the next offers a little
        // likelier to be kept.
        do { try await catalog.setMetaValue(String(offered), forKey: Self.offeredKey) } catch {
            logger.warning("reservoir: cannot record the offer count: \(error)")
        }
    }

    private func offer(_ row: IngestRecord, crops: inout [ReservoirCropRecord], offered: inout Int) async throws {
        let decision = ReservoirSampler(capacity: settings.reservoirCrops).decide(offeredBefore: offered, held: crops.count, random: random)
        offered += 1
        if decision == .skip { return }

        let side = settings.cropSide, holdout = settings.holdoutPercent
        let path = row.claimedPath, number = offered
        let (trainingFolder, holdoutFolder) = (self.trainingFolder, self.holdoutFolder)
        let pick = self.random
        let cut = try await onQueue { () throws -> ReservoirCropRecord? in
            let bytes = try ProcessingFolder.read(path, limit: Int.max)
            let sha = SHA256.hash(bytes).hex
            let pixels = try PNGReader.decode(bytes).pixels
            guard let crop = try Self.crop(pixels, side: side, random: pick) else { return nil }
            let heldBack = ReservoirSampler.isHeldBack(sourceSHA256: sha, percent: holdout)
            let file = (heldBack ? holdoutFolder : trainingFolder) + "/" + String(sha.prefix(16)) + "-\(number).png"
            try AtomicFile.write(try PNGWriter.encode(crop, layout: PNGLayout(channels: .rgb), fast: true), to: file, mode: 0o600)
            return ReservoirCropRecord(path: file, sourceSHA256: sha, heldBack: heldBack)
        }
        guard let record = cut else { return }
        if crops.contains(where: { $0.sourceSHA256 == record.sourceSHA256 }) {
            // The same photo ingested again (or offered again after a crash): one crop is enough.
            unlink(record.path)
            return
        }
        switch decision {
        case .add:
            crops.append(try await catalog.addReservoirCrop(record))
        case .replace(let slot):
            let evicted = crops[slot]
            crops[slot] = try await catalog.replaceReservoirCrop(id: evicted.id!, with: record)
            unlink(evicted.path)
        case .skip:
            return
        }
        logger.debug("reservoir: kept a crop", metadata: ["file": "\(record.path)", "held_back": "\(record.heldBack)"])
    }

    /// Training and held-back crop counts and the number of crops ever offered.
    func counts() async throws -> (training: Int, heldBack: Int, offered: Int) {
        let crops = try await catalog.reservoirCrops()
        let offered = Int(try await catalog.metaValue(forKey: Self.offeredKey) ?? "0") ?? 0
        let held = crops.filter(\.heldBack).count
        return (crops.count - held, held, offered)
    }

    /// A random square crop of `side` px (smaller for a smaller image: the largest multiple of
    /// 64 that fits), RGB only; nil for an image under 64 px.
    static func crop(_ image: PixelBuffer, side wanted: Int, random: (Int) -> Int) throws -> PixelBuffer? {
        let side = min(wanted, min(image.width, image.height) / 64 * 64)
        guard side >= 64 else { return nil }
        return try image.window(x: random(image.width - side + 1), y: random(image.height - side + 1), width: side, height: side)
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let queue = self.queue
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
