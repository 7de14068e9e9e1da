#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NacreCatalog
import NacreCodec
import NacreEngine
import NacreStore

/// Scheduled re-training with a champion/challenger gate, inside the daemon (docs/PIPELINE.md,
/// "Model lifecycle").
///
/// A run fine-tunes the champion on the reservoir's training crops (`nacre train --init`),
/// exports the challenger with an int8 decoder (`nacre export-model`), fine-tunes the champion's
/// denoiser for it (`nacre train-denoiser --init`, when the champion has one) and judges it on the
/// held-back crops, each model through its own denoiser (`nacre gate`), each in a child process under SCHED_IDLE (`chrt --idle`), so ingest keeps its
/// cores and a crash of the child never touches the daemon. Every step's state is in the
/// catalog (`training_runs`, the run's plan in the key/value store): a daemon stop sends SIGTERM
/// to the child (the trainer checkpoints) and marks the run `interrupted`; the next start resumes
/// it from the checkpoint with the rest of its budget. A winner is recorded and promoted; the
/// ingest pipeline picks it up at its next batch (``pendingChampion(current:)``). A failed,
/// interrupted or losing run leaves the champion as it was.
public actor ModelLifecycle {
    /// What the lifecycle is doing; `status` reports it.
    enum Phase: String {
        case idle, training, exporting, denoising, gating
    }

    /// Catalog key: when the last run started (Unix seconds), or the schedule was first armed.
    static let lastStartedKey = "retrain.last_started"
    /// Catalog key: the configured model (`encode.model`, or `builtin`) a promotion replaced; a
    /// promoted champion is used at start only while the configuration still names that model.
    static let promotedOverKey = "lifecycle.promoted_over"

    private var config: DaemonConfig
    private let catalog: Catalog
    private let logger: Logger
    let reservoir: CropReservoir

    private var phase = Phase.idle
    private var activeRun: Int64?
    private var child: ChildProcess?
    private var runTask: Task<Void, Never>?
    private var loopTask: Task<Void, Never>?
    private var stopping = false
    /// Set while a run is being started (its catalog rows written), so a second request arriving
    /// meanwhile cannot start another.
    private var starting = false
    /// A champion promoted since the pipeline loaded its model.
    private var promoted: (id: String, path: String)?

    public init(config: DaemonConfig, catalog: Catalog, logger: Logger) {
        self.config = config
        self.catalog = catalog
        self.logger = logger
        reservoir = CropReservoir(stateDir: config.stateDir, settings: config.retrain, catalog: catalog, logger: logger)
    }

    private var runsFolder: String { config.stateDir + "/retrain" }
    private var modelsFolder: String { config.stateDir + "/models" }
    private func runFolder(_ id: Int64) -> String { runsFolder + "/run-\(id)" }

    // MARK: Start, stop, reload

    /// Prepares the reservoir, resumes an unfinished run and arms the schedule. Call once the
    /// pipeline has recorded its champion.
    func start() async {
        await reservoir.prepare()
        do {
            if try await catalog.metaValue(forKey: Self.lastStartedKey) == nil {
                try await catalog.setMetaValue(String(Date().timeIntervalSince1970), forKey: Self.lastStartedKey)
            }
            try await resumeUnfinishedRun()
        } catch {
            logger.error("re-training: cannot resume the unfinished run: \(error)")
        }
        loopTask = Task { await self.scheduleLoop() }
    }

    /// Stops the running child (the trainer checkpoints), records the run as interrupted and
    /// stops the schedule; returns once that is done.
    func shutdown() async {
        stopping = true
        loopTask?.cancel()
        child?.terminate()
        await runTask?.value
        await loopTask?.value
    }

    func apply(_ config: DaemonConfig) async {
        self.config = config
        await reservoir.apply(config.retrain)
    }

    /// The champion the pipeline should switch to at its next batch, if one was promoted since
    /// it loaded `current`.
    func pendingChampion(current: String) -> (id: String, path: String)? {
        guard let promoted, promoted.id != current else { return nil }
        return promoted
    }

    /// Forgets a promoted champion the pipeline could not load (it keeps its model).
    func discardPendingChampion() {
        promoted = nil
    }

    /// The model file the pipeline loads at start: the promoted champion while the configuration
    /// still names the model it replaced, else the configured one.
    static func startingModelPath(configured: String, configKey: String, catalog: Catalog, logger: Logger) async -> String {
        do {
            guard try await catalog.metaValue(forKey: promotedOverKey) == configKey,
                  let champion = try await catalog.champion(), champion.parentID != nil,
                  let path = champion.filePath, ProcessingFolder.isRegularFile(path) else { return configured }
            logger.info("using the champion promoted by re-training", metadata: ["model": "\(champion.id)", "path": "\(path)"])
            return path
        } catch {
            logger.warning("cannot read the promoted champion; using the configured model: \(error)")
            return configured
        }
    }

    /// `encode.model` as configured, or `builtin`: what a promotion is recorded against.
    static func configKey(_ config: DaemonConfig) -> String { config.modelPath ?? "builtin" }

    // MARK: Schedule

    private func scheduleLoop() async {
        while !stopping && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard !stopping, activeRun == nil else { continue }
            let timer = RetrainTimer(schedule: config.retrain.schedule)
            guard case let last? = try? await catalog.metaValue(forKey: Self.lastStartedKey), let seconds = Double(last),
                  timer.isDue(now: Date(), lastStarted: Date(timeIntervalSince1970: seconds)) else { continue }
            do {
                _ = try await startRun(trigger: "schedule", budgetSeconds: config.retrain.budgetSeconds,
                                       maxSteps: config.retrain.maxSteps, marginPercent: config.retrain.gateMarginPercent)
            } catch {
                // Not retried before the next scheduled time.
                try? await catalog.setMetaValue(String(Date().timeIntervalSince1970), forKey: Self.lastStartedKey)
                logger.notice("re-training: the scheduled run did not start: \(error.message)")
            }
        }
    }

    // MARK: The retrain command

    /// `retrain [budget_minutes=N] [steps=N] [margin_percent=M]`: starts a run and replies at
    /// once with it; while a run is active, replies with that run (`started: false`).
    func retrain(_ request: ControlRequest) async throws(ControlError) -> JSONValue {
        let args = try CommandArguments(request, allowed: ["budget_minutes", "steps", "margin_percent"])
        let budget = try args.double("budget_minutes", in: 0.001...(7 * 24 * 60)).map { $0 * 60 } ?? config.retrain.budgetSeconds
        let steps = try args.int("steps", in: 1...100_000_000).map(Int.init) ?? config.retrain.maxSteps
        let margin = try args.double("margin_percent", in: -100...1000) ?? config.retrain.gateMarginPercent
        if starting {
            return ["started": false, "message": "a re-training run is being started; ask `status` in a moment", "run": .null]
        }
        if let active = activeRun {
            let catalog = self.catalog
            let run = try await ControlError.catalog { try await catalog.trainingRun(id: active) }
            return ["started": false, "message": "a re-training run is already active; see 'run' (and `status`)",
                    "run": run.map(runValue) ?? .null]
        }
        let run = try await startRun(trigger: "command", budgetSeconds: budget, maxSteps: steps, marginPercent: margin)
        return ["started": true, "run": runValue(run)]
    }

    /// Starts a run now. `not_available` when the reservoir is off or too small, or the daemon stops.
    private func startRun(trigger: String, budgetSeconds: Double, maxSteps: Int?, marginPercent: Double) async throws(ControlError) -> TrainingRunRecord {
        guard !stopping else { throw ControlError(.shuttingDown, "the daemon is stopping; ask again after the next start") }
        guard !starting, activeRun == nil else { throw ControlError(.busy, "a re-training run is already active") }
        starting = true
        defer { starting = false }
        guard await reservoir.isEnabled else {
            throw ControlError(.notAvailable, "re-training needs the crop reservoir, which is off (retrain.reservoir_crops: 0)")
        }
        let catalog = self.catalog
        let reservoir = self.reservoir
        let counts = try await ControlError.catalog { try await reservoir.counts() }
        guard counts.training >= 1, counts.heldBack >= 1 else {
            throw ControlError(.notAvailable, "the reservoir has \(counts.training) training and \(counts.heldBack) held-back crops; re-training needs at least one of each (ingest more images)")
        }
        guard let champion = try await ControlError.catalog({ try await catalog.champion() }),
              let championPath = champion.filePath, ProcessingFolder.isRegularFile(championPath) else {
            throw ControlError(.notAvailable, "the champion model's file is not known or missing; restart the daemon to record it")
        }
        var plan = RetrainPlan(budgetSeconds: budgetSeconds, maxSteps: maxSteps, marginPercent: marginPercent,
                               cropSide: config.retrain.cropSide, championPath: championPath, trigger: trigger)
        // A denoiser only matters when archives store it (and the gate's ids are then those of a
        // decoder and denoiser bundle, as the pipeline records them).
        if config.retrain.denoiserPercent > 0 && config.storesModelDenoiser {
            do {
                plan.championDenoiserPath = try await Self.denoiserPath(forModelAt: championPath)
            } catch {
                throw ControlError(.notAvailable, "the champion's denoiser cannot be read: \(error); repair it, or set retrain.denoiser_percent: 0")
            }
            if plan.championDenoiserPath != nil { plan.denoiserSeconds = budgetSeconds * config.retrain.denoiserPercent / 100 }
        }
        let runsFolder = self.runsFolder
        let run = try await ControlError.catalog {
            let run = try await catalog.insertTrainingRun(TrainingRunRecord(parentModelID: champion.id, state: .running))
            var withCheckpoint = run
            withCheckpoint.checkpointPath = runsFolder + "/run-\(run.id!)/run.ckpt"
            try await catalog.updateTrainingRun(withCheckpoint)
            try await catalog.setMetaValue(plan.encoded(), forKey: RetrainPlan.key(run: run.id!))
            try await catalog.setMetaValue(String(Date().timeIntervalSince1970), forKey: Self.lastStartedKey)
            return withCheckpoint
        }
        logger.notice("re-training started", metadata: ["run": "\(run.id!)", "trigger": "\(trigger)", "parent": "\(champion.id)",
                                                        "budget_s": "\(Int(budgetSeconds))", "crops": "\(counts.training)"])
        launch(run, plan: plan)
        return run
    }

    private func launch(_ run: TrainingRunRecord, plan: RetrainPlan) {
        activeRun = run.id
        phase = .training
        runTask = Task { await self.execute(run, plan: plan) }
    }

    /// Resumes the newest `running` (the daemon died) or `interrupted` run; older ones are failed.
    private func resumeUnfinishedRun() async throws {
        // A `retrain` answered before start() began its run already.
        let unfinished = try await catalog.trainingRuns(in: [.running, .interrupted]).filter { $0.id != activeRun }
        let resumable = activeRun == nil ? unfinished.first : nil
        for var stale in unfinished where stale.id != resumable?.id {
            stale.state = .failed
            stale.error = "superseded by a newer unfinished run"
            stale.finishedAt = Date()
            try await catalog.updateTrainingRun(stale)
            await cleanUp(stale.id!)
        }
        guard var run = resumable else { return }
        guard let plan = RetrainPlan.decode(try await catalog.metaValue(forKey: RetrainPlan.key(run: run.id!))) else {
            run.state = .failed
            run.error = "its plan is missing from the catalog; start a new run"
            run.finishedAt = Date()
            try await catalog.updateTrainingRun(run)
            return
        }
        run.state = .running
        try await catalog.updateTrainingRun(run)
        logger.notice("re-training: resuming run \(run.id!) from its checkpoint")
        launch(run, plan: plan)
    }

    /// The denoiser trained for the model file's decoder (``ModelDenoiser``), or nil; also nil
    /// when the model itself does not load (the run then fails in training, and says why). Loads
    /// the model on a thread of its own to learn its decoder's identifier.
    static func denoiserPath(forModelAt modelPath: String) async throws -> String? {
        try await Task.detached(priority: .utility) {
            let engine = try Engine(threads: 1)
            guard let model = try? CodecModel.load(contentsOfFile: modelPath, engine: engine) else { return nil }
            return try ModelDenoiser.locate(forModelAt: modelPath, decoderIdentifier: model.identifier, engine: engine)?.path
        }.value
    }

    // MARK: One run

    private func execute(_ initial: TrainingRunRecord, plan: RetrainPlan) async {
        var run = initial
        let folder = runFolder(run.id!)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let challenger = folder + "/challenger.nxcm"
            let trained: (steps: Int, seconds: Double)
            if FileManager.default.fileExists(atPath: challenger) {
                // Written (atomically) only after training ended: interrupted later, this run
                // keeps its challenger, so a denoiser checkpoint still fits its decoder.
                trained = try Self.trainedSoFar(checkpoint: run.checkpointPath ?? folder + "/run.ckpt")
            } else {
                trained = try await train(run, plan: plan, folder: folder)
                run.steps = trained.steps
                try await catalog.updateTrainingRun(run)
                guard !stopping else { return await interrupt(run) }
                phase = .exporting
                // Hard links: ingest may evict crops from the reservoir while a child reads them.
                let calibration = try Self.snapshot(reservoir.trainingFolder, into: folder + "/calibration", limit: 8)
                try await runChild(["export-model", "--from", folder + "/challenger.nwts", "--out", challenger,
                                    "--calibrate", calibration, "--calibration-images", "8", "--crop", "\(plan.cropSide)",
                                    "--threads", "\(config.retrain.threads)"], folder: folder, what: "exporting the challenger")
            }
            guard !stopping else { return await interrupt(run) }
            var denoisers: [String] = []
            if let championDenoiser = plan.championDenoiserPath {
                phase = .denoising
                try await trainDenoiser(plan: plan, initial: championDenoiser, folder: folder)
                guard !stopping else { return await interrupt(run) }
                denoisers = ["--champion-denoiser", championDenoiser, "--challenger-denoiser", folder + "/challenger.nxdn"]
            }
            phase = .gating
            let holdout = try Self.snapshot(reservoir.holdoutFolder, into: folder + "/holdout", limit: Self.gateCrops)
            try await runChild(["gate", "--champion", plan.championPath, "--challenger", challenger,
                                "--data", holdout, "--margin=\(plan.marginPercent)",
                                "--threads", "\(config.retrain.threads)", "--json"] + denoisers, folder: folder, what: "the gate")
            guard !stopping else { return await interrupt(run) }
            try await record(&run, trained: trained, folder: folder)
        } catch {
            if stopping { return await interrupt(run) }
            logger.error("re-training run \(run.id!) failed; the champion is unchanged: \(error)")
            run.state = .failed
            run.error = "\(error)"
            run.finishedAt = Date()
            await event(.error, "retrain.failed", "run \(run.id!) failed: \(error)")
            await cleanUp(run.id!)
            finishActive(run.id!)
            do { try await catalog.updateTrainingRun(run) } catch { logger.error("re-training: cannot record the failure: \(error)") }
        }
    }

    /// Ends the active run in memory. Called before the run's final catalog write, so that
    /// whoever sees the run ended in the catalog can start the next one; a no-op when another
    /// run became active meanwhile.
    private func finishActive(_ id: Int64) {
        guard activeRun == id else { return }
        activeRun = nil
        child = nil
        phase = .idle
    }

    private func interrupt(_ run: TrainingRunRecord) async {
        var run = run
        run.state = .interrupted
        if let trained = try? Self.trainedSoFar(checkpoint: runFolder(run.id!) + "/run.ckpt") { run.steps = trained.steps }
        do { try await catalog.updateTrainingRun(run) } catch { logger.error("re-training: cannot record the interruption: \(error)") }
        logger.notice("re-training run \(run.id!) interrupted; it resumes from its checkpoint at the next start", metadata: ["steps": "\(run.steps)"])
        finishActive(run.id!)
    }

    /// Steps and seconds trained so far, from the checkpoint (zero without one).
    static func trainedSoFar(checkpoint path: String) throws -> (steps: Int, seconds: Double) {
        guard FileManager.default.fileExists(atPath: path) else { return (0, 0) }
        let file = try WeightsFile.read(from: path)
        return (Int(file.metadata["step"] ?? "0") ?? 0, Double(file.metadata["seconds"] ?? "0") ?? 0)
    }

    /// Held-back crops the gate measures at most (the first by name; names start with a hash).
    static let gateCrops = 200

    /// Hard-links up to `limit` PNG files of `source` (by name) into a new folder `target`;
    /// returns `target`. Throws when none could be linked. With `keepingExisting`, a `target`
    /// made before (by an interrupted run) is kept as it is, so a resumed step sees the same crops.
    static func snapshot(_ source: String, into target: String, limit: Int, keepingExisting: Bool = false) throws -> String {
        if keepingExisting, ((try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []).contains(where: { $0.hasSuffix(".png") }) {
            return target
        }
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []).filter { $0.hasSuffix(".png") }.sorted()
        var linked = 0
        for name in names where linked < limit {
            if link(source + "/" + name, target + "/" + name) == 0 { linked += 1 }
        }
        guard linked > 0 else { throw LifecycleError(.notEnoughData, "no crops could be taken from \(source); ingest more images") }
        return target
    }

    /// Runs (or resumes) the trainer for the rest of the budget.
    private func train(_ run: TrainingRunRecord, plan: RetrainPlan, folder: String) async throws -> (steps: Int, seconds: Double) {
        let checkpoint = run.checkpointPath ?? folder + "/run.ckpt"
        let before = try Self.trainedSoFar(checkpoint: checkpoint)
        let remaining = max(0, plan.budgetSeconds - plan.denoiserSeconds - before.seconds)
        // 1e-5: at 1e-4 even 300 steps left base-v2 3.3 % worse on held-back crops of new photos
        // (BENCHMARKS.md, re-training); a converged model only takes small steps well.
        var arguments = ["train", "--data", reservoir.trainingFolder, "--out", folder + "/challenger.nwts", "--checkpoint", checkpoint,
                         "--crop", "\(plan.cropSide)", "--batch", "4", "--threads", "\(config.retrain.threads)",
                         "--checkpoint-every", "60", "--validate-every", "0", "--lr", "1e-5", "--final-lr", "1e-6",
                         "--time-budget", String(format: "%.3f", remaining), "--stop-when-orphaned"]
        arguments += FileManager.default.fileExists(atPath: checkpoint) ? ["--resume"] : ["--init", plan.championPath]
        if let steps = plan.maxSteps { arguments += ["--steps", "\(steps)"] }
        try await runChild(arguments, folder: folder, what: "training")
        return try Self.trainedSoFar(checkpoint: checkpoint)
    }

    /// Training crops the denoiser is fine-tuned on at most (each is coded once at a random
    /// quality, and every 8th is held back and coded at 8 qualities, before training starts).
    static let denoiserCrops = 400
    /// Steps of the denoiser's schedule when the run has no step cap (at about 76 steps/s on two
    /// threads, 20,000 steps take 4–5 minutes; the time budget stops it earlier on slower machines).
    static let denoiserSteps = 20_000

    /// Fine-tunes the champion's denoiser for the challenger's decoder (or resumes doing so) for
    /// the rest of its share of the budget; writes `challenger.nxdn`.
    private func trainDenoiser(plan: RetrainPlan, initial: String, folder: String) async throws {
        let out = folder + "/challenger.nxdn", checkpoint = out + ".ckpt"
        let before = try Self.trainedSoFar(checkpoint: checkpoint)
        let remaining = max(0, plan.denoiserSeconds - before.seconds)
        let crops = try Self.snapshot(reservoir.trainingFolder, into: folder + "/denoiser-crops", limit: Self.denoiserCrops,
                                      keepingExisting: true)
        var arguments = ["train-denoiser", "--model", folder + "/challenger.nxcm", "--data", crops, "--out", out,
                         "--cache", folder + "/denoiser-pairs", "--crop-side", "\(plan.cropSide)", "--crops-per-image", "1",
                         "--patch", "\(min(128, plan.cropSide))", "--batch", "8", "--lr", "5e-4", "--relative-loss",
                         "--steps", "\(plan.maxSteps ?? Self.denoiserSteps)", "--validate-every", "500",
                         "--time-budget", String(format: "%.3f", remaining), "--threads", "\(config.retrain.threads)",
                         "--stop-when-orphaned"]
        arguments += FileManager.default.fileExists(atPath: checkpoint) ? ["--resume"] : ["--init", initial]
        try await runChild(arguments, folder: folder, what: "training the denoiser")
    }

    /// Runs one child to its end; throws with the log's tail when it fails.
    private func runChild(_ arguments: [String], folder: String, what: String) async throws {
        let command = arguments[0]
        let log = folder + "/children.log"
        let process = try ChildProcess(arguments: arguments, threads: config.retrain.threads,
                                       stdoutPath: folder + "/\(command).out", stderrPath: log)
        child = process
        logger.debug("re-training: started a child", metadata: ["command": "\(command)", "pid": "\(process.pid)"])
        let exit = await process.wait()
        child = nil
        guard exit.succeeded else {
            throw LifecycleError(.childProcess, "\(what) (`nacre \(command)`) ended with \(exit.description): \(ChildProcess.tail(of: log))")
        }
    }

    /// Records the gate's verdict: the challenger in the catalog (content-addressed), promoted
    /// when it won; the run finished.
    private func record(_ run: inout TrainingRunRecord, trained: (steps: Int, seconds: Double), folder: String) async throws {
        guard let output = FileManager.default.contents(atPath: folder + "/gate.out"),
              let verdict = try? GateReport.decode(output) else {
            throw LifecycleError(.gate, "the gate's output \(folder)/gate.out is not its JSON verdict")
        }
        let champion = try await catalog.champion()
        var promote = verdict.promote
        var summary = verdict.summary
        if verdict.challengerID == verdict.championID {
            promote = false
            summary = "the challenger's decoder is identical to the champion's: rejected"
        } else if champion?.id != run.parentModelID {
            promote = false
            summary += " — not promoted: the champion changed during the run"
        }
        let dataSize = (try? await reservoir.counts().training) ?? 0
        let modelPath = modelsFolder + "/\(verdict.challengerID).nxcm"
        if promote {
            try FileManager.default.createDirectory(atPath: modelsFolder, withIntermediateDirectories: true)
            // The denoiser first: a model file is never in place without the denoiser it was judged with.
            let denoiser = folder + "/challenger.nxdn"
            if verdict.denoised, rename(denoiser, ModelDenoiser.sidecarPath(forModelAt: modelPath)) != 0 {
                throw LifecycleError(.fileSystem, "cannot move the challenger's denoiser to \(modelsFolder): \(String(cString: strerror(errno)))")
            }
            guard rename(folder + "/challenger.nxcm", modelPath) == 0 else {
                throw LifecycleError(.fileSystem, "cannot move the challenger to \(modelPath): \(String(cString: strerror(errno)))")
            }
            try ProcessingFolder.syncFolder(modelsFolder)
        }
        if verdict.challengerID != verdict.championID {
            let known = try await catalog.model(id: verdict.challengerID)
            var model = known ?? ModelRecord(id: verdict.challengerID, parentID: run.parentModelID, role: .challenger)
            model.parentID = run.parentModelID
            model.dataSize = dataSize
            model.steps = trained.steps
            model.wallSeconds = trained.seconds
            model.gateBDRate = verdict.bdRatePercent
            model.gateResult = summary
            if promote { model.filePath = modelPath }
            if known == nil { try await catalog.insertModel(model) } else { try await catalog.updateModel(model) }
            if promote {
                try await catalog.promoteModel(id: model.id)
                try await catalog.setMetaValue(Self.configKey(config), forKey: Self.promotedOverKey)
                promoted = (model.id, modelPath)
            }
            run.challengerModelID = model.id
        }
        run.state = .finished
        run.result = promote ? .promoted : .rejected
        run.gateBDRate = verdict.bdRatePercent
        run.steps = trained.steps
        run.finishedAt = Date()
        logger.notice("re-training run \(run.id!) finished: \(summary)", metadata: ["challenger": "\(verdict.challengerID)"])
        await event(.notice, promote ? "retrain.promoted" : "retrain.rejected", "run \(run.id!): \(summary)")
        await cleanUp(run.id!)
        finishActive(run.id!)
        try await catalog.updateTrainingRun(run)
    }

    /// Deletes an ended run's folder (checkpoint, logs, challenger file) and its plan.
    private func cleanUp(_ id: Int64) async {
        try? FileManager.default.removeItem(atPath: runFolder(id))
        try? await catalog.setMetaValue(nil, forKey: RetrainPlan.key(run: id))
    }

    private func event(_ level: Logger.Level, _ kind: String, _ message: String) async {
        do { try await catalog.appendEvent(level: level, kind: kind, message: message) } catch {
            logger.warning("cannot record event \(kind): \(error)")
        }
    }

    // MARK: status

    /// The `retrain` object of `status`.
    func statusValue() async -> JSONValue {
        var fields: [String: JSONValue] = [
            "state": .string(phase.rawValue),
            "schedule": .string(RetrainTimer(schedule: config.retrain.schedule).text),
            "budget_minutes": CollectionJSON.number(config.retrain.budgetSeconds / 60, digits: 2),
        ]
        if let active = activeRun {
            fields["run"] = .int(active)
            let step = phase == .denoising ? Self.lastDenoiserStep(runFolder(active) + "/children.log")
                : Self.lastLoggedStep(runFolder(active) + "/challenger.nwts.log.jsonl")
            fields["step"] = step.map { .int(Int64($0)) } ?? .null
        } else {
            fields["run"] = .null
        }
        do {
            let counts = try await reservoir.counts()
            fields["reservoir"] = ["enabled": .bool(await reservoir.isEnabled), "capacity": .int(Int64(config.retrain.reservoirCrops)),
                                   "training": .int(Int64(counts.training)), "held_back": .int(Int64(counts.heldBack)),
                                   "offered": .int(Int64(counts.offered))]
            fields["last_run"] = try await catalog.trainingRuns().first.map(runValue) ?? .null
        } catch {
            fields["error"] = .string("\(error)")
        }
        return .object(fields)
    }

    /// A training run as the protocol shows it.
    private func runValue(_ run: TrainingRunRecord) -> JSONValue {
        var state = run.state.rawValue
        if run.id == activeRun && run.state == .running { state = phase.rawValue }
        return [
            "id": run.id.map { .int($0) } ?? .null,
            "state": .string(state),
            "parent": .string(run.parentModelID),
            "challenger": run.challengerModelID.map { .string($0) } ?? .null,
            "started_at": CollectionJSON.date(run.startedAt),
            "finished_at": CollectionJSON.date(run.finishedAt),
            "steps": .int(Int64(run.steps)),
            "gate_bd_rate": CollectionJSON.number(run.gateBDRate),
            "result": run.result.map { .string($0.rawValue) } ?? .null,
            "error": run.error.map { .string($0) } ?? .null,
        ]
    }

    /// The step of the trainer's last progress line (it logs about once a second).
    static func lastLoggedStep(_ path: String) -> Int? {
        lastLine(of: path) { line in
            (try? JSONValue.parse(Array(line.utf8)))?["step"]?.intValue.map { Int($0) }
        }
    }

    /// The step of the denoiser trainer's last progress line (`step N  loss …`, every 50 steps).
    static func lastDenoiserStep(_ path: String) -> Int? {
        lastLine(of: path) { line in
            line.hasPrefix("step ") ? line.dropFirst(5).split(separator: " ").first.flatMap { Int($0) } : nil
        }
    }

    /// The value `parse` finds in the newest of the last 4 KiB of lines of the file at `path`.
    private static func lastLine(of path: String, _ parse: (Substring) -> Int?) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let end = handle.seekToEndOfFile()
        handle.seek(toFileOffset: end > 4096 ? end - 4096 : 0)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        for line in text.split(separator: "\n").reversed() {
            if let value = parse(line) { return value }
        }
        return nil
    }
}
