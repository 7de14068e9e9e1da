import Foundation
import GRDB
import Logging

/// The SQLite catalog: models, archives, images, ingest state, training runs, the reservoir and
/// events, in one WAL-mode database file.
///
/// A `Catalog` wraps a GRDB `DatabasePool`: one serialized writer and several concurrent readers,
/// so `list`/`search` on the control socket never wait for the pipeline's writes. Every method is
/// `async` (GRDB's async accesses suspend instead of blocking a cooperative thread), runs in one
/// transaction, and throws only ``CatalogError``.
///
/// The catalog is never the only copy of anything: archives are self-contained, and
/// ``rebuild(from:)`` recreates the archive and image rows from them.
public final class Catalog: Sendable {
    /// How the database connection is set up.
    public struct Options: Sendable {
        /// SQLite's `synchronous` setting in WAL mode.
        ///
        /// Both levels keep the file consistent after a crash or power cut (WAL never corrupts on
        /// either). They differ in durability: with NORMAL, commits since the last checkpoint can
        /// vanish on power loss. The daemon deletes or moves originals right after its index
        /// transaction commits; if that commit could vanish, the catalog would then disagree with
        /// the world (an ingest row `verified` whose original is gone) and recovery would have to
        /// reconstruct it from archives. FULL makes every returned commit durable, for one WAL fsync
        /// per commit: measured here (debug build, ext4 on virtio disk) 0.5–1.4 ms per commit against
        /// 0.3 ms with NORMAL, i.e. a few ms per ingested image over ~7 commits, negligible beside
        /// encoding. So FULL is the default; NORMAL suits a rebuildable scratch catalog.
        public enum Synchronous: String, Sendable {
            /// The WAL is fsynced only at checkpoints: a power cut can lose the last commits
            /// (never corrupt the file). Fine for a throw-away catalog, e.g. a bulk reindex.
            case normal = "NORMAL"
            /// The WAL is fsynced at every commit: once a method returns, its change survives a
            /// power cut. The default, because the daemon deletes originals right after indexing.
            case full = "FULL"
        }

        /// How long a write waits for another process's lock before failing with `.busy`.
        public var busyTimeout: TimeInterval
        public var synchronous: Synchronous
        /// Readers that may run at once.
        public var maximumReaderCount: Int

        public init(busyTimeout: TimeInterval = 5, synchronous: Synchronous = .full, maximumReaderCount: Int = 4) {
            self.busyTimeout = busyTimeout
            self.synchronous = synchronous
            self.maximumReaderCount = maximumReaderCount
        }
    }

    /// Path of the database file (`-wal` and `-shm` files live beside it).
    public let path: String
    public let options: Options
    let pool: DatabasePool
    let logger: Logger

    /// Identifiers of every schema migration this build knows, oldest first (`["v1"]`).
    public static var knownMigrations: [String] { CatalogSchema.knownMigrations }

    /// Opens the catalog at `path`, creating it if missing, and migrates it to this build's schema.
    ///
    /// - Throws: ``CatalogError`` `.schemaTooNew` when a newer Nacre migrated the file,
    ///   `.notACatalog` for another program's database, `.corrupt` for a damaged or non-database
    ///   file, `.cannotOpen`/`.readOnly` for permission or path problems, `.busy` when another
    ///   process holds the lock beyond the busy timeout. The file is not changed in those cases.
    public init(path: String, options: Options = Options(), logger: Logger = Logger(label: "nacre.catalog")) throws {
        self.path = path
        self.options = options
        self.logger = logger

        var configuration = Configuration()
        configuration.label = "nacre.catalog"
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(options.busyTimeout)
        configuration.maximumReaderCount = max(1, options.maximumReaderCount)
        do {
            // Check an existing file read-only first: opening a pool switches the file to WAL,
            // which must not happen to another program's database or a newer catalog.
            if FileManager.default.fileExists(atPath: path) {
                var readOnly = Configuration()
                readOnly.readonly = true
                readOnly.busyMode = configuration.busyMode
                let probe = try DatabaseQueue(path: path, configuration: readOnly)
                try probe.read { db in try CatalogSchema.checkCompatible(db, path: path) }
                try probe.close()
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` on the writer when it enables WAL, after any
            // `prepareDatabase` hook; so the level is set here, on the writer (the only connection
            // that commits), once it exists. The writer connection lives as long as the pool.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(options.synchronous.rawValue)")
            }
            let migrator = CatalogSchema.migrator
            let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
            try migrator.migrate(pool)
            let new = migrator.migrations.filter { !applied.contains($0) }
            if !new.isEmpty {
                logger.info("catalog migrated", metadata: ["path": "\(path)", "migrations": "\(new)"])
            }
        } catch {
            throw CatalogError.wrapping(error, while: "Opening the catalog", path: path)
        }
    }

    /// Closes the database. Later calls throw. Optional: the pool also closes when released.
    public func close() throws {
        do { try pool.close() } catch { throw CatalogError.wrapping(error, while: "Closing the catalog", path: path) }
    }

    /// Schema migrations applied to this file, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await read("Reading the schema version") { db in try CatalogSchema.migrator.appliedMigrations(db) }
    }

    /// The value of `PRAGMA journal_mode` (`"wal"` for a catalog).
    public func journalMode() async throws -> String {
        try await read("Reading the journal mode") { db in
            try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
        }
    }

    /// Copies the WAL into the database file and truncates the WAL (for a graceful stop, or before
    /// copying the file as a backup). Waits for readers up to the busy timeout.
    public func checkpoint() async throws {
        try await withoutTransaction("Checkpointing the catalog") { db in _ = try db.checkpoint(.truncate) }
    }

    /// SQLite's `PRAGMA quick_check`: an empty array means the file is sound; otherwise the
    /// problems SQLite found (then move the file aside and run `nacre reindex`).
    public func integrityProblems() async throws -> [String] {
        try await read("Checking the catalog's integrity") { db in
            try String.fetchAll(db, sql: "PRAGMA quick_check").filter { $0 != "ok" }
        }
    }

    /// Runs `body` in a read-only snapshot; errors come out as ``CatalogError``.
    func read<T: Sendable>(_ action: String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch {
            throw CatalogError.wrapping(error, while: action, path: path)
        }
    }

    /// Runs `body` on the writer connection outside any transaction.
    func withoutTransaction<T: Sendable>(_ action: String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.writeWithoutTransaction(body) } catch {
            throw CatalogError.wrapping(error, while: action, path: path)
        }
    }

    /// Runs `body` in one IMMEDIATE write transaction, rolled back if it throws.
    func write<T: Sendable>(_ action: String, _ body: @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch {
            throw CatalogError.wrapping(error, while: action, path: path)
        }
    }
}
