import Foundation
import Logging
import NacreCatalog
import Synchronization

/// Answers the collection commands of the control socket from the catalog and the archives:
/// `list`, `search`, `info`, `restore`, `verify`, `stats`, `models` (docs/PROTOCOL.md). Other
/// commands get `not_available` (the daemon answers `status`, the ingest pipeline `seal` and
/// `retrain`).
///
/// Catalog reads are async GRDB reads (concurrent with the pipeline's writes). Decoding and
/// archive verification run on ``DecodeWorkers`` threads, off Swift's cooperative pool, at most
/// as many at once as there are workers; more wait in a bounded queue.
public final class CollectionCommands: ControlHandler {
    private struct Settings {
        var restoreRoots: [String]
        var threads: Int
        var workers: DecodeWorkers
    }

    /// Largest `limit` of `list`/`search`.
    public static let maximumListLimit: Int64 = 1000
    /// `limit` of `list`/`search` when none is given.
    public static let defaultListLimit: Int64 = 50
    /// Archives one `verify` request checks at most (the reply's `next` continues).
    public static let maximumVerifyLimit: Int64 = 100
    public static let defaultVerifyLimit: Int64 = 10

    private let catalog: Catalog
    private let logger: Logger
    private let settings: Mutex<Settings>

    /// - Parameters:
    ///   - catalog: the daemon's open catalog.
    ///   - config: restore roots and `threads` (decode workers: see ``DecodeWorkers/sizes(threads:)``).
    public init(catalog: Catalog, config: DaemonConfig, logger: Logger) {
        self.catalog = catalog
        self.logger = logger
        let sizes = DecodeWorkers.sizes(threads: config.threads)
        settings = Mutex(Settings(restoreRoots: config.restoreRoots, threads: config.threads,
                                  workers: DecodeWorkers(count: sizes.workers, engineThreads: sizes.engineThreads, logger: logger)))
    }

    deinit { settings.withLock { $0.workers.shutdown() } }

    /// Applies a reloaded config: restore roots at once; a changed `threads` starts new decode
    /// workers (the old ones finish their queued restores, then exit).
    public func apply(_ config: DaemonConfig) {
        let retired: DecodeWorkers? = settings.withLock { settings in
            settings.restoreRoots = config.restoreRoots
            guard settings.threads != config.threads else { return nil }
            let old = settings.workers
            let sizes = DecodeWorkers.sizes(threads: config.threads)
            settings.workers = DecodeWorkers(count: sizes.workers, engineThreads: sizes.engineThreads, logger: logger)
            settings.threads = config.threads
            return old
        }
        retired?.shutdown()
    }

    /// Decode workers and their engine threads (for `status` and tests).
    public var decodeConcurrency: (workers: Int, engineThreads: Int) {
        settings.withLock { ($0.workers.count, $0.workers.engineThreads) }
    }

    public func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        switch request.command {
        case .list: return try await list(request, requireFilter: false)
        case .search: return try await list(request, requireFilter: true)
        case .info: return try await info(request)
        case .restore: return try await restore(request, peer: peer)
        case .verify: return try await verify(request)
        case .stats: return try await stats(request)
        case .models: return try await models(request)
        case .status, .seal, .retrain: throw ControlError.notAvailable(request.command.rawValue)
        }
    }

    // MARK: list, search

    private func list(_ request: ControlRequest, requireFilter: Bool) async throws(ControlError) -> JSONValue {
        let args = try CommandArguments(request, allowed: ["name", "since", "until", "archive", "limit", "cursor"])
        let filter = ImageFilter(nameGlob: try args.string("name"), encodedFrom: try args.date("since"),
                                 encodedBefore: try args.date("until", endOfDay: true), archiveID: try args.string("archive"))
        if requireFilter, filter == ImageFilter() {
            throw ControlError(.invalidArgument, "'search' needs at least one of 'name' (glob), 'since', 'until', 'archive'; use 'list' for everything")
        }
        let limit = Int(try args.int("limit", in: 1...Self.maximumListLimit) ?? Self.defaultListLimit)
        var cursor: ImageCursor?
        if let text = try args.string("cursor") {
            guard let id = Int64(text), id > 0 else {
                throw ControlError(.invalidArgument, "'cursor' must be the 'next' value of a previous reply, got '\(text)'")
            }
            cursor = ImageCursor(afterImageID: id)
        }
        let catalog = self.catalog
        let page = try await ControlError.catalog { try await catalog.images(filter, limit: limit, after: cursor) }
        return [
            "images": .array(page.images.map(CollectionJSON.summary)),
            "count": .int(Int64(page.images.count)),
            "total": .int(Int64(page.total)),
            "next": page.next.map { .string(String($0.afterImageID)) } ?? .null,
        ]
    }

    // MARK: info

    private func info(_ request: ControlRequest) async throws(ControlError) -> JSONValue {
        let args = try CommandArguments(request, allowed: ["image", "id", "archive"])
        let image = try await findImage(args)
        let catalog = self.catalog
        let archive = try await ControlError.catalog { try await catalog.archive(id: image.archiveID) }
        return CollectionJSON.info(image, archive: archive)
    }

    /// The image named by `image` (name, with `archive` when several archives hold it) or `id`.
    private func findImage(_ args: CommandArguments) async throws(ControlError) -> ImageRecord {
        let catalog = self.catalog
        if let id = try args.int("id", in: 1...Int64.max) {
            guard !args.has("image") else {
                throw ControlError(.invalidArgument, "give either 'image' (a name) or 'id', not both")
            }
            guard let image = try await ControlError.catalog({ try await catalog.image(id: id) }) else {
                throw ControlError(.notFound, "no image with id \(id); ids change when the catalog is rebuilt, list again")
            }
            return image
        }
        guard let name = try args.string("image") else {
            throw ControlError(.invalidArgument, "'\(args.command.rawValue)' needs 'image' (a name, see 'list') or 'id'")
        }
        let archive = try args.string("archive")
        return try await ControlError.catalog { try await catalog.image(named: name, inArchive: archive) }
    }

    // MARK: restore

    private func restore(_ request: ControlRequest, peer: PeerCredentials) async throws(ControlError) -> JSONValue {
        let args = try CommandArguments(request, allowed: ["image", "id", "archive", "to", "denoise", "overwrite", "fast"])
        let denoise = try args.bool("denoise")
        let destination = try args.string("to")
        let overwrite = try args.bool("overwrite")
        let fastPNG = try args.bool("fast")
        let image = try await findImage(args)
        let catalog = self.catalog
        guard let archive = try await ControlError.catalog({ try await catalog.archive(id: image.archiveID) }) else {
            throw ControlError(.damaged, "the catalog lists '\(image.displayName)' in archive \(image.archiveID), which it does not know; run `nacre reindex`")
        }
        let (roots, workers) = settings.withLock { ($0.restoreRoots, $0.workers) }
        let job = RestoreJob(image: image, archive: archive, destination: destination, overwrite: overwrite,
                             fastPNG: fastPNG, denoise: denoise, restoreRoots: roots)
        do {
            let reply = try await workers.run { context in try job.run(context) }
            logger.info("restored", metadata: ["image": "\(image.displayName)", "archive": "\(archive.id)",
                                               "path": "\(reply["path"]?.stringValue ?? "")", "peer": "\(peer)"])
            return reply
        } catch let error as ControlError {
            if error.code == .forbiddenPath {
                logger.notice("restore refused", metadata: ["image": "\(image.displayName)", "peer": "\(peer)", "reason": "\(error.message)"])
            }
            throw error
        } catch {
            throw ControlError(.internal, "restore failed: \(error)")
        }
    }

    // MARK: verify

    private func verify(_ request: ControlRequest) async throws(ControlError) -> JSONValue {
        let args = try CommandArguments(request, allowed: ["archive", "limit", "after"])
        let catalog = self.catalog
        var archives: [ArchiveRecord]
        var remaining = 0
        if let id = try args.string("archive") {
            guard !args.has("after"), !args.has("limit") else {
                throw ControlError(.invalidArgument, "'archive' names one archive; 'limit' and 'after' page through all of them")
            }
            guard let archive = try await ControlError.catalog({ try await catalog.archive(id: id) }) else {
                throw ControlError(.notFound, "no archive '\(id)' in the catalog; see 'stats' or 'list' for archive ids")
            }
            archives = [archive]
        } else {
            let limit = Int(try args.int("limit", in: 1...Self.maximumVerifyLimit) ?? Self.defaultVerifyLimit)
            let after = try args.string("after")
            let all = try await ControlError.catalog { try await catalog.archives(in: [.indexed, .damaged, .verified]) }
            let pending = all.sorted { $0.id < $1.id }.filter { after == nil || $0.id > after! }
            archives = Array(pending.prefix(limit))
            remaining = pending.count - archives.count
        }
        let workers = settings.withLock { $0.workers }
        var verdicts: [ArchiveVerification] = []
        for archive in archives {
            // One job per archive, so restores queued meanwhile are not held up by a long verify.
            let verdict = try await runJob(workers) { _ in ArchiveVerification.check(archive) }
            if !verdict.isIntact { await recordDamage(archive, verdict) }
            verdicts.append(verdict)
        }
        return [
            "archives": .array(verdicts.map(\.json)),
            "checked": .int(Int64(verdicts.count)),
            "damaged": .int(Int64(verdicts.filter { !$0.isIntact }.count)),
            "remaining": .int(Int64(remaining)),
            "next": remaining > 0 ? archives.last.map { .string($0.id) } ?? .null : .null,
        ]
    }

    private func runJob<T: Sendable>(_ workers: DecodeWorkers, _ work: @escaping @Sendable (DecodeWorkers.Context) throws -> T) async throws(ControlError) -> T {
        do {
            return try await workers.run(work)
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError(.internal, "\(error)")
        }
    }

    /// Marks a damaged indexed archive `damaged` (its intact images stay listed) and records an
    /// event; a missing file is only reported (it may be a disk that is not mounted).
    private func recordDamage(_ archive: ArchiveRecord, _ verdict: ArchiveVerification) async {
        logger.error("verify found damage", metadata: ["archive": "\(archive.id)", "damaged_images": "\(verdict.damagedImages.count)",
                                                       "problems": "\(verdict.problems.joined(separator: "; "))"])
        guard verdict.readable, archive.state != .damaged else { return }
        var damaged = archive
        damaged.state = .damaged
        do {
            try await catalog.updateArchive(damaged)
            try await catalog.appendEvent(level: .error, kind: "verify",
                                          message: "archive damaged: \(verdict.damagedImages.count) unreadable image(s); \(verdict.problems.joined(separator: "; "))",
                                          subject: archive.id)
        } catch {
            logger.error("could not record the damage in the catalog: \(error)", metadata: ["archive": "\(archive.id)"])
        }
    }

    // MARK: stats, models

    private func stats(_ request: ControlRequest) async throws(ControlError) -> JSONValue {
        _ = try CommandArguments(request, allowed: [])
        let catalog = self.catalog
        return CollectionJSON.stats(try await ControlError.catalog { try await catalog.stats() })
    }

    private func models(_ request: ControlRequest) async throws(ControlError) -> JSONValue {
        _ = try CommandArguments(request, allowed: [])
        let catalog = self.catalog
        let (models, stats) = try await ControlError.catalog { (try await catalog.models(), try await catalog.stats()) }
        let usage = Dictionary(stats.perModel.map { ($0.modelID, $0) }, uniquingKeysWith: { first, _ in first })
        return [
            "models": .array(models.map { CollectionJSON.model($0, usage: usage[$0.id]) }),
            "champion": models.first { $0.role == .champion }.map { .string($0.id) } ?? .null,
        ]
    }
}
