#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NacreArchive
import NacreCatalog
import NacreEngine
import NacreImage
import NacreStore
import ServiceLifecycle
import Synchronization

/// The daemon's crash-safe ingest pipeline (docs/PIPELINE.md):
/// claim → encode → append to the open archive → seal → verify → index → delete or move the
/// originals, with every step's state in the catalog, so that a crash at any point is finished
/// or rolled back by ``recover()`` at the next start and no image is ever in zero places.
///
/// One loop (``run()``) does all the work, one file at a time, in this order: `seal` requests,
/// a batch due by age, claimed files left by recovery, then spool events in arrival order.
/// CPU-heavy steps run on the ``CodecWorker``'s queue, so while an image encodes the actor is
/// free to answer `status`, and the control server's other commands never wait for it.
public actor IngestPipeline: DaemonPipeline {
    /// Where the pipeline is; `status` reports it.
    enum Phase: String {
        case starting, recovering, running, stopping, stopped
    }

    private var config: DaemonConfig
    private let catalog: Catalog
    private let commands: any ControlHandler
    private let version: String
    private let logger: Logger
    private let processing: ProcessingFolder

    private var worker: CodecWorker?
    private var phase = Phase.starting
    private var watcher: SpoolWatcher?
    /// Spool events not yet taken, in arrival order.
    private var pending: [SpoolEvent] = []
    /// Claimed rows to encode before new files (left by recovery).
    private var redo: [Int64] = []
    private var batch: OpenBatch?
    /// The last image appended to the open batch, whose row still says `claimed`: its commit
    /// runs while the next image encodes (`commitAppended()`), and always before the batch seals.
    private var uncommittedAppend: (id: Int64, batchID: String)?
    /// Encoded images being measured while the next ones encode, oldest first; appended by
    /// ``appendMeasured(all:)`` in this order before anything else touches the open batch. Their
    /// rows say `claimed`.
    private var measuring: [Measuring] = []
    /// Most images in `measuring` once an image's coding is done: the measurement runs on CPU time
    /// the encoder leaves idle, which can take longer than one coding to come.
    static let measureDepth = 3
    private var sealWaiters: [CheckedContinuation<Result<JSONValue, ControlError>, Never>] = []
    /// Consecutive infrastructure failures, for the retry back-off.
    private var failures = 0
    /// Raised on graceful shutdown; long worker jobs check it.
    private let stop = StopFlag()
    /// The crop reservoir and re-training (Lifecycle/).
    private let lifecycle: ModelLifecycle

    /// - Parameters:
    ///   - catalog: the daemon's one catalog (also the one the collection commands read).
    ///   - commands: serves every command but `status`, `seal` and `retrain`.
    public init(config: DaemonConfig, catalog: Catalog, commands: any ControlHandler, version: String, logger: Logger) {
        self.config = config
        self.catalog = catalog
        self.commands = commands
        self.version = version
        self.logger = logger
        processing = ProcessingFolder(stateDir: config.stateDir)
        lifecycle = ModelLifecycle(config: config, catalog: catalog, logger: logger)
    }

    /// Lets the pipeline ask the watcher to report a file again when it could not be claimed.
    public func attach(watcher: SpoolWatcher) {
        self.watcher = watcher
    }

    /// How long the loop must have had nothing to do, after work, before idle memory goes back
    /// to the system (once per idle spell: the trim holds the allocator's locks while it runs).
    static let idleTrimDelay = Duration.seconds(5)
    /// Gives pooled tensor memory and free heap back to the system: images of many sizes leave
    /// buffers of many sizes behind.
    private func releaseIdleMemory() {
        let idle = Engine.idleMemoryBytes
        let start = ContinuousClock.now
        Engine.returnIdleMemoryToTheSystem()
        logger.debug("released idle memory", metadata: ["pooled_bytes": "\(idle)", "ms": "\(Self.milliseconds(since: start))"])
    }

    // MARK: DaemonPipeline

    /// Throws only when the pipeline cannot work at all (no usable model, the catalog refusing
    /// the model row); every other failure is retried.
    public func run() async throws {
        let stop = self.stop
        do {
            try await withGracefulShutdownHandler {
                try await runUntilStopped()
            } onGracefulShutdown: {
                stop.raise()
            }
        } catch {
            // The service cancels its other tasks on this error and the daemon exits with status 1.
            logger.critical("the ingest pipeline cannot run; stopping the daemon: \(error)")
            throw error
        }
    }

    private func runUntilStopped() async throws {
        let worker: CodecWorker
        do {
            worker = try await start()
        } catch let error as PipelineError where error.code == .stopped {
            phase = .stopped
            return
        }
        self.worker = worker
        phase = .recovering
        while !stopRequested {
            do {
                try await recover()
                break
            } catch let error as PipelineError where error.code == .stopped {
                break
            } catch {
                guard await backOff(after: error, while: "recovering") else { break }
            }
        }
        if !stopRequested {
            // Before `running`: an unfinished re-training run has resumed once status says so.
            await lifecycle.start()
            phase = .running
            logger.info("ingest pipeline running", metadata: ["model": "\(worker.modelID)", "redo": "\(redo.count)"])
        }
        var idleSince = ContinuousClock.now
        var workedSinceRelease = false
        while !stopRequested {
            do {
                if try await step() {
                    failures = 0
                    idleSince = .now
                    workedSinceRelease = true
                    continue
                }
            } catch let error as PipelineError where error.code == .stopped {
                break
            } catch {
                guard await backOff(after: error, while: "ingesting") else { break }
                try? await recover()
                continue
            }
            if workedSinceRelease, ContinuousClock.now - idleSince > Self.idleTrimDelay {
                releaseIdleMemory()
                workedSinceRelease = false
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        phase = .stopping
        await lifecycle.shutdown()
        await park()
        phase = .stopped
    }

    public func ingest(_ event: SpoolEvent) async {
        pending.append(event)
    }

    public func apply(_ config: DaemonConfig) async {
        self.config = config
        await lifecycle.apply(config)
        (commands as? any ReloadableControlHandler)?.apply(config)
    }

    public func statusFields() async -> [String: JSONValue] {
        var queue: [String: JSONValue] = ["waiting": .int(Int64(pending.count))]
        do {
            let counts = try await catalog.ingestCounts()
            for state in IngestState.allCases where !state.isFinal {
                queue[state.rawValue] = .int(Int64(counts[state] ?? 0))
            }
        } catch {
            queue["error"] = .string("\(error)")
        }
        var fields: [String: JSONValue] = [
            "pipeline": .string(phase.rawValue),
            "queue": .object(queue),
            "open_batch": batch?.statusValue() ?? .null,
        ]
        if let worker {
            fields["model"] = ["id": .string(worker.modelID), "path": .string(worker.modelPath)]
        } else {
            fields["model"] = .null
        }
        fields["retrain"] = await lifecycle.statusValue()
        return fields
    }

    public nonisolated func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        switch request.command {
        case .seal: return try await requestSeal().get()
        case .retrain: return try await lifecycle.retrain(request)
        default: return try await commands.handle(request, peer: peer)
        }
    }

    // MARK: The loop

    private var stopRequested: Bool { stop.isRaised || Task.isShuttingDownGracefully || Task.isCancelled }

    /// Loads the model and records it; prepares the processing folder.
    private func start() async throws -> CodecWorker {
        try processing.prepare()
        var modelPath: String
        if let configured = config.modelPath {
            modelPath = configured
        } else {
            do { modelPath = try BaseModel.locate() } catch { throw PipelineError(.model, error.message) }
        }
        let configured = modelPath
        modelPath = await ModelLifecycle.startingModelPath(configured: configured, configKey: ModelLifecycle.configKey(config),
                                                           catalog: catalog, logger: logger)
        let worker: CodecWorker
        do {
            worker = try await startWorker(modelPath: modelPath)
        } catch let error as PipelineError where error.code == .model && modelPath != configured {
            // A promoted champion that no longer loads must not stop ingest: back to the configured model.
            logger.error("cannot load the champion promoted by re-training; using the configured model: \(error)",
                         metadata: ["path": "\(modelPath)"])
            await record(.error, "model.champion_unusable", "\(error); the configured model \(configured) is used", subject: modelPath)
            try await catalog.setMetaValue(nil, forKey: ModelLifecycle.promotedOverKey)
            modelPath = configured
            worker = try await startWorker(modelPath: modelPath)
        }
        if var known = try await catalog.model(id: worker.modelID) {
            if known.filePath != modelPath {
                known.filePath = modelPath
                try await catalog.updateModel(known)
            }
        } else {
            try await catalog.insertModel(ModelRecord(id: worker.modelID, role: .retired, filePath: modelPath))
        }
        // The model new batches are encoded with is the champion by definition.
        try await catalog.promoteModel(id: worker.modelID)
        logger.info("encode model loaded", metadata: ["model": "\(worker.modelID)", "path": "\(modelPath)"])
        return worker
    }

    /// Does the next piece of work; false when there was nothing to do.
    private func step() async throws -> Bool {
        if try await adoptPromotedChampion() { return true }
        if !sealWaiters.isEmpty {
            try await answerSealRequests()
            return true
        }
        if let open = batch, open.isFull(config.batching) {
            try await sealAndFinish()
            return true
        }
        if !redo.isEmpty {
            let id = redo.removeFirst()
            if let row = try await catalog.ingestRow(id: id), row.state == .claimed { try await encode(row) }
            return true
        }
        if !pending.isEmpty {
            let event = pending.removeFirst()
            switch event {
            case .rejected(let file, let reason):
                quarantine(file, code: reason.code.rawValue, message: reason.message)
                await record(.warning, "ingest.quarantined", "\(reason.code.rawValue): \(reason.message)", subject: file.path)
            case .ready(let file) where CodecContext.hasControlCharacters(file.rawName):
                let message = "the file name has control characters (newline, tab, ...); rename it without them"
                quarantine(file, code: "control_character_name", message: message)
                await record(.warning, "ingest.quarantined", "control_character_name: \(message)", subject: file.path)
            case .ready(let file):
                let row: IngestRecord?
                do {
                    row = try await claim(file)
                } catch {
                    watcher?.forget(file)  // still in the inbox: report it again after the retry
                    throw error
                }
                if let row { try await encode(row) }
            }
            return true
        }
        if !measuring.isEmpty {
            try await appendMeasured()
            return true
        }
        if uncommittedAppend != nil {
            try await commitAppended()
            return true
        }
        return false
    }

    private func startWorker(modelPath: String) async throws -> CodecWorker {
        try await CodecWorker.start(modelPath: modelPath, threads: config.threads,
                                    storesModelDenoiser: config.storesModelDenoiser, stop: stop, logger: logger)
    }

    /// Between batches, loads a champion that re-training promoted; the open batch (if any)
    /// keeps the model it started with, and old archives keep their own decoders.
    private func adoptPromotedChampion() async throws -> Bool {
        guard batch == nil, let current = worker, let next = await lifecycle.pendingChampion(current: current.modelID) else { return false }
        // Coded with the old model, whose batch is sealed: encoded again with the new one.
        redo.insert(contentsOf: measuring.map(\.id), at: 0)
        measuring = []
        do {
            worker = try await startWorker(modelPath: next.path)
            logger.notice("new batches use the promoted champion", metadata: ["model": "\(next.id)", "path": "\(next.path)"])
        } catch let error as PipelineError where error.code == .model {
            logger.error("cannot load the promoted champion; new batches keep the current model: \(error)")
            await lifecycle.discardPendingChampion()
            // The catalog names the model new batches really use.
            await record(.error, "model.champion_unusable", "\(error); new batches keep model \(current.modelID)", subject: next.id)
            do {
                try await catalog.promoteModel(id: current.modelID)
                try await catalog.setMetaValue(nil, forKey: ModelLifecycle.promotedOverKey)
            } catch {
                logger.error("cannot record that the current model stays the champion: \(error)")
            }
        }
        return true
    }

    /// Forgets the open batch: its temporary archive is deleted and its early checks dropped
    /// (its rows, left as they are, are rolled back by recovery or re-encoded).
    private func dropOpenBatch() async throws {
        let dropped = batch
        batch = nil
        uncommittedAppend = nil
        measuring = []  // their rows still say `claimed`: recovery or the next start encodes them again

        guard let worker else { return }
        if let dropped { _ = worker.early.take(archiveID: dropped.archiveID) }
        try await worker.perform { $0.abortWriter() }
    }

    /// Logs an infrastructure failure, drops the open batch (recovery rolls it back) and waits
    /// before retrying: 1 s, doubling to 30 s. Returns false if a stop was requested meanwhile.
    private func backOff(after error: any Error, while activity: String) async -> Bool {
        failures += 1
        let delay = min(30.0, pow(2.0, Double(min(failures - 1, 5))))
        logger.error("ingest pipeline failed while \(activity); retrying in \(Int(delay)) s: \(error)")
        await record(.error, "pipeline.error", "\(activity): \(error)", subject: batch?.archiveID)
        try? await dropOpenBatch()
        let until = Date().addingTimeInterval(delay)
        while Date() < until {
            if stopRequested { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return !stopRequested
    }

    /// On graceful stop: the current image is finished (the loop only checks between images);
    /// the open batch is parked: its temporary archive is dropped and its rows go back to
    /// `claimed`, so the originals (still in the processing folder) are encoded again at the
    /// next start. Nothing else needs to wait.
    private func park() async {
        for waiter in sealWaiters {
            waiter.resume(returning: .failure(ControlError(.shuttingDown, "the daemon is stopping; the open batch is parked and sealed after the next start")))
        }
        sealWaiters = []
        guard let open = batch else { return }
        try? await dropOpenBatch()
        do {
            // In a task of its own: parking must also happen when the run was cancelled.
            let catalog = self.catalog
            let parked = try await Task { try await catalog.discardArchive(id: open.archiveID) }.value
            logger.notice("stopping: parked the open batch; its images are encoded again at the next start",
                          metadata: ["archive": "\(open.archiveID)", "images": "\(parked.count)"])
        } catch {
            logger.warning("stopping: could not park the open batch now; the next start rolls it back: \(error)")
        }
    }

    // MARK: Claim and encode

    /// Moves a ready file out of the inbox into its claim folder and records it. Returns nil when
    /// the file could not be claimed (it vanished, or the move failed; then it is reported again).
    private func claim(_ file: SpoolFile) async throws -> IngestRecord? {
        let claimedPath = try processing.reserve(name: file.name)
        let row: IngestRecord
        do {
            row = try await catalog.claimIngest(IngestRecord(
                spool: file.spool, originalPath: file.path, claimedPath: claimedPath, size: file.size,
                mtime: Date(timeIntervalSince1970: Double(file.mtimeNanoseconds) / 1e9)))
        } catch {
            processing.release(claimedPath)
            throw error
        }
        do {
            try processing.claim(file, to: claimedPath)
        } catch {
            // Not moved: the claim never happened.
            try await catalog.deleteUnstartedIngest(id: row.id!)
            processing.release(claimedPath)
            if ProcessingFolder.exists(file.path) {
                logger.error("cannot claim a spool file; it will be tried again at the next rescan: \(error)",
                             metadata: ["spool": "\(file.spool)", "name": "\(file.name)"])
                watcher?.forget(file)
            } else {
                logger.debug("spool file vanished before it was claimed", metadata: ["name": "\(file.name)"])
            }
            return nil
        }
        logger.debug("claimed", metadata: ["name": "\(file.name)", "ingest": "\(row.id!)"])
        return row
    }

    /// Claims the next ready spool file while the current one encodes, so the claim's moves,
    /// folder syncs and catalog commit overlap the encoder instead of following it. The row goes
    /// to `redo` (encoded next; recovery knows it as any other claimed row).
    private func claimAhead() async {
        guard redo.isEmpty, !stopRequested, case .ready(let file)? = pending.first,
              !CodecContext.hasControlCharacters(file.rawName) else { return }
        pending.removeFirst()
        do {
            if let row = try await claim(file), let id = row.id { redo.append(id) }
        } catch {
            watcher?.forget(file)  // still in the inbox: reported again at the next rescan
            logger.warning("could not claim a spool file ahead; it is tried again: \(error)", metadata: ["name": "\(file.name)"])
        }
    }

    /// Encodes one claimed file; while it encodes, the file before it is measured, and once it
    /// is encoded, that one is appended (``appendMeasured()``) and this one's measurement starts.
    /// Bad input is quarantined.
    private func encode(_ row: IngestRecord) async throws {
        guard let worker, let id = row.id else { return }
        let nameText = ProcessingFolder.fileName(of: row.claimedPath)
        let name = Array(nameText.utf8)
        // Swapped for a symlink or special file between the report and the claim.
        guard ProcessingFolder.isRegularFile(row.claimedPath) else {
            try await quarantine(row, code: "special_file", message: "the claimed entry is not a regular file (replaced after it was reported?)")
            return
        }
        if measuring.contains(where: { $0.name == name }) { try await appendMeasured() }
        if batch?.holds(name) == true {
            // Names are unique within an archive: the earlier file of this name goes into this
            // batch, the new one into the next.
            try await sealAndFinish()
        }
        let started = ContinuousClock.now
        let coding = startCoding(row, on: worker)
        await claimAhead()
        try await commitAppended()
        let reconstruction: ImagePacker.Reconstruction, codeMS: Int, idleMS: Double
        do {
            (reconstruction, codeMS, idleMS) = try await coding.value
        } catch let error as PipelineError where error.code == .badInput {
            try await quarantine(row, code: error.reason, message: error.message)
            return
        }
        let inline = config.verifyDecode.measuresInline
        try await appendMeasured(all: inline)
        let done = MeasuredFlag()
        measuring.append(Measuring(id: id, row: row, name: name, pixels: reconstruction.decoded.pixels, codeMS: codeMS, codecIdleMS: idleMS,
                                   started: started, done: done, measurement: Task {
                                       defer { done.raise() }
                                       return try await worker.measure(reconstruction, name: name, inline: inline)
                                   }))
        if inline { try await appendMeasured() }
    }

    /// What coding a file gives: its reconstruction, the coding's milliseconds, and how long
    /// the codec thread had idled before it.
    typealias Coded = (reconstruction: ImagePacker.Reconstruction, codeMS: Int, codecIdleMS: Double)

    /// Queues the coding of a claimed file on the codec thread (behind what is queued there).
    private func startCoding(_ row: IngestRecord, on worker: CodecWorker) -> WorkerThread.Job<Coded> {
        let path = row.claimedPath
        let rate = encodeRate(forSpool: row.spool)
        let limits = imageLimits
        return worker.submit { context in
            let codeStart = ContinuousClock.now
            let idleMS = context.lastCodingEnd.map { Self.milliseconds(from: $0, to: codeStart) } ?? 0.0
            defer { context.lastCodingEnd = .now }
            return (try context.reconstruct(path: path, rate: rate, limits: limits), Self.milliseconds(since: codeStart), idleMS)
        }
    }

    /// Appends measured images to the open batch in coding order (starting a batch if needed),
    /// sealing each batch that becomes full. `all`: every image being measured, waiting for
    /// them; otherwise those already measured, and the oldest others until at most
    /// ``measureDepth`` − 1 are left (the caller then adds one).
    private func appendMeasured(all: Bool = true) async throws {
        while let oldest = measuring.first, all || oldest.done.isRaised || measuring.count >= Self.measureDepth {
            measuring.removeFirst()
            try await append(oldest)
        }
    }

    /// Appends one image once measured; seals the batch when full. An image whose measurement
    /// fails as bad input is quarantined.
    private func append(_ coded: Measuring) async throws {
        guard let worker else { return }
        let packed: ImagePacker.Packed
        let waitStart = ContinuousClock.now
        do {
            packed = try await coded.measurement.value
        } catch let error as PipelineError where error.code == .badInput {
            try await quarantine(coded.row, code: error.reason, message: error.message)
            return
        }
        let measureWaitMS = Self.milliseconds(from: waitStart, to: .now)
        try await commitAppended()
        let image = packed.image
        let open = try await openBatch()
        _ = try await worker.perform { try $0.append(image) }
        if open.adaptation == nil {  // an adapted batch's archive is written again with another decoder
            worker.early.submit(EarlyVerifier.Job(
                archiveID: open.archiveID, image: image, latentDigest: packed.latentDigest,
                reference: config.verifyDecode.decodesPixels(at: open.imageCount) ? coded.pixels : nil,
                toleranceDB: config.verifyToleranceDB))
        }
        // Committed while the next image encodes (or before the seal): until the batch is sealed
        // its frames live in a temporary file that recovery discards, so a row that still says
        // `claimed` is encoded again exactly as an `appended` one would be.
        uncommittedAppend = (coded.id, open.archiveID)
        let record = image.record
        await lifecycle.reservoir.precut(claimedPath: coded.row.claimedPath, sourceSHA256: record.originalSHA256.hex, pixels: coded.pixels)
        batch?.add(coded.name, rawBytes: Int64(record.width) * Int64(record.height) * Int64(record.channels) * (record.bitDepth == 16 ? 2 : 1),
                   latentDigest: packed.latentDigest)
        logger.debug("appended", metadata: ["name": "\(ProcessingFolder.fileName(of: coded.row.claimedPath))", "archive": "\(open.archiveID)",
                                            "psnr": "\(record.psnr)", "latent_bytes": "\(image.latentByteCount)",
                                            "code_ms": "\(coded.codeMS)", "codec_idle_ms": "\(coded.codecIdleMS)",
                                            "measure_wait_ms": "\(measureWaitMS)",
                                            "encode_step_ms": "\(Self.milliseconds(since: coded.started))"])
        if let batch, batch.isFull(config.batching) { try await sealAndFinish(appendingMeasured: false) }
    }

    private func encodeRate(forSpool name: String) -> ImagePacker.Rate {
        let target = config.spools.first { $0.name == name }.map(config.encodeTarget(for:)) ?? config.encode
        switch target {
        case .quality(let quality): return .quality(Double(quality))
        case .targetPSNR(let decibels): return .targetPSNR(decibels)
        }
    }

    private var imageLimits: ImageLimits {
        ImageLimits(maxWidth: config.limits.maxSide, maxHeight: config.limits.maxSide, maxPixels: config.limits.maxPixels,
                    maxFileBytes: Int(clamping: config.limits.maxFileBytes))
    }

    /// The open batch, starting one (catalog row `open` first, then the temporary file) if none.
    private func openBatch() async throws -> OpenBatch {
        if let batch { return batch }
        guard let worker else { throw PipelineError(.model, "no model loaded") }
        let id = OpenBatch.newID()
        let path = config.archiveDir + "/" + id + ".nacre"
        try await catalog.insertArchive(ArchiveRecord(id: id, path: path, bytes: 0, modelID: worker.modelID, state: .open))
        let writerVersion = "nacre \(version) daemon"
        let adaptation = config.adaptation
        do {
            try await worker.perform {
                try $0.openWriter(path: path, writerVersion: writerVersion, settings: [:], keepingImages: adaptation != nil)
            }
        } catch {
            _ = try? await catalog.discardArchive(id: id)
            throw error
        }
        let open = OpenBatch(archiveID: id, path: path, adaptation: adaptation)
        batch = open
        logger.debug("batch opened", metadata: ["archive": "\(id)"])
        return open
    }

    // MARK: Seal, verify, index, originals

    /// Records the last appended image: claimed → encoded → appended, with its batch, in one commit.
    private func commitAppended() async throws {
        guard let (id, batchID) = uncommittedAppend else { return }
        try await catalog.advanceIngest(id: id, from: .claimed, through: [.encoded, .appended], batchID: batchID)
        uncommittedAppend = nil
    }

    /// Seals the open batch and carries it through verify, index and the originals.
    /// `appendingMeasured`: the images being measured join it first (false for a batch that
    /// became full: they go to the next one).
    private func sealAndFinish(appendingMeasured: Bool = true) async throws {
        if appendingMeasured { try await appendMeasured() }
        guard let open = batch, let worker else { return }
        try await commitAppended()
        if let adaptation = open.adaptation { try await adapt(open, adaptation, worker: worker) }
        batch = nil
        let sealStart = ContinuousClock.now
        let sealed = try await worker.perform { try $0.seal() }
        guard var archive = try await catalog.archive(id: open.archiveID) else {
            throw PipelineError(.archive, "archive \(open.archiveID) has no catalog row")
        }
        archive.state = .sealed
        archive.sealedAt = Date()
        archive.bytes = Int64(clamping: sealed.fileSize)
        try await catalog.updateArchive(archive)
        try await catalog.transitionIngestBatch(open.archiveID, from: .appended, to: .sealed)
        logger.info("archive sealed", metadata: ["archive": "\(open.archiveID)", "images": "\(sealed.imageCount)", "bytes": "\(sealed.fileSize)",
                                                 "seal_ms": "\(Self.milliseconds(since: sealStart))"])
        try await finish(archiveID: open.archiveID, latentDigests: open.latentDigests)
    }

    /// Per-collection adaptation of the open batch before it is sealed (`encode.adapt_seconds`).
    private func adapt(_ open: OpenBatch, _ adaptation: DaemonConfig.Adaptation, worker: CodecWorker) async throws {
        var claimedPaths: [[UInt8]: String] = [:]
        for row in try await catalog.ingestRows(batch: open.archiveID) where !row.state.isFinal {
            claimedPaths[Array(ProcessingFolder.fileName(of: row.claimedPath).utf8)] = row.claimedPath
        }
        let stop = self.stop, paths = claimedPaths
        let outcome = try await worker.perform { try $0.adaptOpenBatch(claimedPaths: paths, adaptation: adaptation, stop: stop) }
        let summary = String(format: "%d steps in %.1f s on %d of %d images; mean PSNR of the batch %.3f → %.3f dB; %@",
                             outcome.steps, outcome.seconds, outcome.trainedOn, open.imageCount, outcome.psnrBefore, outcome.psnrAfter,
                             outcome.modelID.map { "the archive carries adapted model \($0.prefix(16)) (\(outcome.decoderBytes) bytes)"
                                 + (outcome.denoiserGain.map { gain in
                                     String(format: outcome.keepsDenoiser ? ", with the denoiser (+%.3f dB through it)"
                                                                          : ", without the denoiser (%+.3f dB through it)", gain) } ?? "") }
                                 ?? "no gain for the batch, the base decoder is kept")
        logger.info("batch adapted", metadata: ["archive": "\(open.archiveID)", "result": "\(summary)"])
        await record(.info, "batch.adapted", summary, subject: open.archiveID)
    }

    /// Verifies a sealed archive, indexes it and finishes its originals; an archive that fails
    /// verification is deleted and its images encoded again (quarantined after a second failure).
    private func finish(archiveID: String, latentDigests: [[UInt8]: SHA256Digest] = [:]) async throws {
        guard let worker, var archive = try await catalog.archive(id: archiveID) else { return }
        // Rows lag behind the archive row when a crash fell between the two writes.
        try await catalog.transitionIngestBatch(archiveID, from: .appended, to: .sealed)
        let rows = try await catalog.ingestRows(batch: archiveID).filter { !$0.state.isFinal }
        let early = worker.early.take(archiveID: archiveID)
        let expected = rows.map {
            let name = Array(ProcessingFolder.fileName(of: $0.claimedPath).utf8)
            return BatchVerifier.Expected(name: name, claimedPath: $0.claimedPath, sourcePath: $0.originalPath,
                                          latentDigest: latentDigests[name], early: early[name])
        }
        let path = archive.path
        let tolerance = config.verifyToleranceDB, decode = config.verifyDecode
        let stop = self.stop
        let verified: BatchVerifier.Verified
        let verifyStart = ContinuousClock.now
        do {
            verified = try await worker.perform {
                try BatchVerifier.verify(archiveID: archiveID, path: path, expected: expected, toleranceDB: tolerance,
                                         decode: decode, context: $0, stop: stop)
            }
        } catch let error as PipelineError where error.code == .verification {
            try await reject(archive, rows: rows, error: error)
            return
        }
        if archive.state == .sealed {
            archive.state = .verified
            archive.verifiedAt = verified.archive.verifiedAt
            archive.bytes = verified.archive.bytes
            try await catalog.updateArchive(archive)
        }
        let verifyMS = Self.milliseconds(since: verifyStart)
        let indexStart = ContinuousClock.now
        try await catalog.transitionIngestBatch(archiveID, from: .sealed, to: .verified)
        archive.state = .indexed
        // The archive's own decoder: an adapted batch's differs from the model it was opened with
        // (indexing registers it).
        archive.modelID = verified.archive.modelID
        try await catalog.indexArchive(archive, images: verified.images)
        logger.info("archive verified and indexed", metadata: [
            "archive": "\(archiveID)", "images": "\(verified.images.count)", "checked_early": "\(verified.checkedEarly)",
            "verify_ms": "\(verifyMS)", "index_ms": "\(Self.milliseconds(since: indexStart))"])
        await record(.info, "archive.indexed", "sealed, verified and indexed \(verified.images.count) images", subject: archiveID)
        try await finishOriginals(try await catalog.ingestRows(batch: archiveID).filter { $0.state == .indexed })
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        Int((ContinuousClock.now - start) / .milliseconds(1))
    }

    /// Milliseconds from `start` to `end`, to 0.1 ms (per-image gaps are a few ms).
    private static func milliseconds(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Double {
        ((end - start) / .microseconds(100)).rounded() / 10
    }

    /// Deletes an archive that failed verification (file first: a file without a row would be
    /// an orphan) and rolls its rows back to `claimed`.
    private func reject(_ archive: ArchiveRecord, rows: [IngestRecord], error: PipelineError) async throws {
        logger.error("\(error.message); deleting it and encoding its images again", metadata: ["archive": "\(archive.id)"])
        await record(.error, "archive.verify_failed", error.message, subject: archive.id)
        if unlink(archive.path) != 0 && errno != ENOENT { throw PipelineError.system("unlink", archive.path) }
        try ProcessingFolder.syncFolder(config.archiveDir)
        let failedBefore = Set(rows.filter { $0.errorReason?.hasPrefix(Self.verifyFailedReason) == true }.compactMap(\.id))
        for row in try await catalog.discardArchive(id: archive.id, reason: Self.verifyFailedReason + ": " + error.message) {
            if failedBefore.contains(row.id!) {
                try await quarantine(row, code: "verify_failed", message: "its archive failed verification twice: \(error.message)")
            } else {
                redo.append(row.id!)
            }
        }
    }

    private static let verifyFailedReason = "verify failed"

    /// Deletes the originals of indexed rows, or moves them to `done_dir`, then marks them done.
    /// One fsync per folder for the whole batch, before the rows say `done` (a file whose unlink
    /// was lost in a power cut would come back as an orphan beside a `done` row).
    private func finishOriginals(_ rows: [IngestRecord]) async throws {
        let indexed = rows.filter { $0.state == .indexed }
        guard !indexed.isEmpty else { return }
        let reservoirStart = ContinuousClock.now
        await lifecycle.reservoir.offer(indexed)
        let reservoirMS = Self.milliseconds(since: reservoirStart)
        let originalsStart = ContinuousClock.now
        for row in indexed {
            if ProcessingFolder.exists(row.claimedPath) {
                switch config.originals {
                case .delete:
                    guard unlink(row.claimedPath) == 0 || errno == ENOENT else { throw PipelineError.system("unlink", row.claimedPath) }
                case .move(let doneDir):
                    let destination = ProcessingFolder.freeName(for: ProcessingFolder.fileName(of: row.claimedPath), in: doneDir)
                    try ProcessingFolder.move(Array(row.claimedPath.utf8CString), displayName: row.claimedPath, to: destination)
                }
            }
            // Removing the (now empty) claim folder makes the unlink in it durable with the
            // processing folder's fsync below.
            processing.release(row.claimedPath)
        }
        if case .move(let doneDir) = config.originals { try ProcessingFolder.syncFolder(doneDir) }
        try ProcessingFolder.syncFolder(processing.path)
        for batchID in Set(indexed.compactMap(\.batchID)) {
            try await catalog.transitionIngestBatch(batchID, from: .indexed, to: .done)
        }
        logger.info("originals finished", metadata: [
            "images": "\(indexed.count)", "reservoir_ms": "\(reservoirMS)", "originals_ms": "\(Self.milliseconds(since: originalsStart))"])
    }

    // MARK: seal command

    private func requestSeal() async -> Result<JSONValue, ControlError> {
        guard phase != .stopping && phase != .stopped else {
            return .failure(ControlError(.shuttingDown, "the daemon is stopping; the open batch is parked and sealed after the next start"))
        }
        return await withCheckedContinuation { sealWaiters.append($0) }
    }

    private func answerSealRequests() async throws {
        let waiters = sealWaiters
        sealWaiters = []
        let reply: Result<JSONValue, ControlError>
        var failure: (any Error)?
        do {
            try await appendMeasured()  // the last file dropped before the request joins the batch
        } catch {
            for waiter in waiters { waiter.resume(returning: .failure(ControlError(.internal, "appending the last encoded image failed: \(error)"))) }
            throw error
        }
        if let open = batch {
            do {
                try await sealAndFinish()
                if let archive = try await catalog.archive(id: open.archiveID), archive.state == .indexed {
                    reply = .success(["sealed": true, "archive_id": .string(open.archiveID), "images": .int(Int64(open.imageCount)),
                                      "state": .string(archive.state.rawValue)])
                } else {
                    reply = .failure(ControlError(.internal, "archive \(open.archiveID) failed verification and was deleted; its images are encoded again (see the log)"))
                }
            } catch let error as PipelineError where error.code == .stopped {
                reply = .failure(ControlError(.shuttingDown, "the daemon is stopping; archive \(open.archiveID) is sealed and is verified and indexed at the next start"))
                failure = error
            } catch {
                reply = .failure(ControlError(.internal, "sealing archive \(open.archiveID) failed: \(error)"))
                failure = error
            }
        } else {
            reply = .success(["sealed": false, "message": "nothing to seal"])
        }
        for waiter in waiters { waiter.resume(returning: reply) }
        if let failure { throw failure }
    }

    // MARK: Quarantine

    /// Quarantines a spool entry the watcher rejected (it was never claimed). If that fails the
    /// entry stays where it is and the watcher reports it again at its next rescan.
    private func quarantine(_ file: SpoolFile, code: String, message: String) {
        do {
            let destination = try Quarantine(folder: config.quarantineDir).move(file, code: code, message: message)
            logger.warning("quarantined", metadata: ["name": "\(file.name)", "code": "\(code)", "to": "\(destination)"])
        } catch {
            logger.error("cannot quarantine a rejected spool entry; will try again: \(error)", metadata: ["name": "\(file.name)"])
            if file.spool != "" { watcher?.forget(file) }
        }
    }

    /// Quarantines a claimed file from its claim folder and closes its row.
    private func quarantine(_ row: IngestRecord, code: String, message: String) async throws {
        let folder = ProcessingFolder.parent(of: row.claimedPath)
        let name = ProcessingFolder.fileName(of: row.claimedPath)
        if ProcessingFolder.exists(row.claimedPath) {
            let file = SpoolFile(spool: row.spool, directory: folder, rawName: Array(name.utf8), size: row.size,
                                 mtimeNanoseconds: Int64(row.mtime.timeIntervalSince1970 * 1e9), device: 0, inode: 0)
            do {
                let destination = try Quarantine(folder: config.quarantineDir)
                    .move(file, code: code, message: message + " (taken from \(row.originalPath))")
                logger.warning("quarantined", metadata: ["name": "\(name)", "code": "\(code)", "to": "\(destination)"])
            } catch {
                throw PipelineError(.fileSystem, "cannot quarantine \(row.claimedPath): \(error)")
            }
        } else {
            logger.error("a claimed file vanished from the processing folder", metadata: ["path": "\(row.claimedPath)"])
        }
        processing.release(row.claimedPath)
        try await catalog.transitionIngest(id: row.id!, to: .quarantined, reason: "\(code): \(message)")
        await record(.warning, "ingest.quarantined", "\(code): \(message)", subject: row.originalPath)
    }

    /// Appends a catalog event; a failure to record it is only logged.
    private func record(_ level: Logger.Level, _ kind: String, _ message: String, subject: String?) async {
        do {
            try await catalog.appendEvent(level: level, kind: kind, message: message, subject: subject)
        } catch {
            logger.warning("cannot record event \(kind) in the catalog: \(error)")
        }
    }

    // MARK: Recovery

    /// Finishes or rolls back whatever a crash (or a failed step) left, from the catalog's
    /// state and what is on disk. Idempotent; runs at start before any new file is taken, and
    /// after an infrastructure failure. See docs/PIPELINE.md for the table.
    func recover() async throws {
        redo = []
        try await dropOpenBatch()
        removeStaleArchiveTemporaries()

        // Archives not indexed yet, oldest first.
        for var archive in try await catalog.archives(in: [.open, .sealed, .verified]).reversed() {
            if archive.state == .open {
                guard ProcessingFolder.isRegularFile(archive.path) else {
                    // Never sealed: its temporary file is gone with the process.
                    let rolled = try await catalog.discardArchive(id: archive.id)
                    logger.notice("recovery: discarded an unsealed batch; its images are encoded again",
                                  metadata: ["archive": "\(archive.id)", "images": "\(rolled.count)"])
                    continue
                }
                // Sealed (renamed) just before the crash, not yet recorded.
                archive.state = .sealed
                archive.sealedAt = Date()
                try await catalog.updateArchive(archive)
            }
            logger.notice("recovery: verifying and indexing an archive sealed before the restart", metadata: ["archive": "\(archive.id)"])
            try await finish(archiveID: archive.id)
        }
        try await finishOriginals(try await catalog.ingestRows(in: [.indexed]))

        // Work that lived only in memory or in a batch that no longer exists.
        for row in try await catalog.ingestRows(in: [.encoded, .appended, .sealed, .verified]) {
            try await catalog.transitionIngest(id: row.id!, to: .claimed)
        }
        var known = Set<String>()
        for row in try await catalog.ingestRows(in: [.claimed]) {
            guard ProcessingFolder.exists(row.claimedPath) else {
                // The claim never moved the file (it is still in the inbox, or gone).
                try await catalog.deleteUnstartedIngest(id: row.id!)
                processing.release(row.claimedPath)
                continue
            }
            if ProcessingFolder.isRegularFile(row.originalPath) && ProcessingFolder.sameContent(row.originalPath, row.claimedPath) {
                // A copy across file systems was interrupted before the inbox file was unlinked.
                if unlink(row.originalPath) == 0 { try? ProcessingFolder.syncFolder(ProcessingFolder.parent(of: row.originalPath)) }
            }
            known.insert(ProcessingFolder.parent(of: row.claimedPath))
            if !redo.contains(row.id!) { redo.append(row.id!) }
        }
        try await removeOrphans(keeping: known)
        if !redo.isEmpty { logger.notice("recovery: claimed files to encode", metadata: ["count": "\(redo.count)"]) }
    }

    /// Drops the hidden temporary files of archives that were being written when the process died.
    private func removeStaleArchiveTemporaries() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: config.archiveDir)) ?? []
        for name in names where name.hasPrefix(".") && name.contains(".nacre.tmp-") {
            if unlink(config.archiveDir + "/" + name) == 0 {
                logger.info("recovery: removed an unsealed archive's temporary file", metadata: ["name": "\(name)"])
            }
        }
    }

    /// Claim folders no unfinished row knows: empty ones (a claim that never moved its file, or
    /// a finished one) are removed; files in them are quarantined, never deleted.
    private func removeOrphans(keeping known: Set<String>) async throws {
        for folder in processing.claimFolders() where !known.contains(folder) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for entry in entries {
                if entry.hasPrefix(".nacre-write-") {
                    unlink(folder + "/" + entry)  // an interrupted cross-file-system copy
                    continue
                }
                let file = SpoolFile(spool: "", directory: folder, rawName: Array(entry.utf8), size: 0, mtimeNanoseconds: 0, device: 0, inode: 0)
                quarantine(file, code: "orphan", message: "found in the processing folder with no ingest row")
                await record(.warning, "ingest.quarantined", "orphan: \(entry) found in the processing folder with no ingest row", subject: folder)
            }
            if rmdir(folder) == 0 { try? ProcessingFolder.syncFolder(processing.path) }
        }
    }
}

/// An encoded image whose measurement runs while the next image encodes.
private struct Measuring {
    var id: Int64
    var row: IngestRecord
    var name: [UInt8]
    /// The source pixels, for the early pixel check and the reservoir's crop.
    var pixels: PixelBuffer
    var codeMS: Int
    /// How long the codec thread had been idle when this image's coding started.
    var codecIdleMS: Double
    var started: ContinuousClock.Instant
    /// Raised when `measurement` has finished, so appending can skip what is still running.
    var done: MeasuredFlag
    var measurement: Task<ImagePacker.Packed, any Error>
}

/// Set once, when a measurement finishes.
private final class MeasuredFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}
