import GRDB

/// The catalog's schema: numbered migrations, applied in order, never edited once released.
///
/// A new version adds `v2`, `v3`… below; GRDB records applied identifiers in `grdb_migrations`, and
/// `PRAGMA user_version` mirrors the count for people using the `sqlite3` shell.
enum CatalogSchema {
    /// `PRAGMA application_id` of a Nacre catalog: "NACR" in ASCII.
    static let applicationID: Int32 = 0x4E41_4352

    /// Identifiers of every migration this build knows, oldest first.
    static var knownMigrations: [String] { migrator.migrations }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: v1)
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: v2)
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        return migrator
    }

    // Frozen: v1 as released. CHECK lists repeat the Swift enums on purpose (a migration must not
    // change when code changes); tests insert every enum case to keep them in step.
    private static let v1 = """
        CREATE TABLE models (
            id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64 AND id NOT GLOB '*[^0-9a-f]*'),
            parent_id TEXT REFERENCES models(id) ON DELETE RESTRICT,
            created_at TEXT NOT NULL,
            data_size INTEGER NOT NULL CHECK (data_size >= 0),
            steps INTEGER NOT NULL CHECK (steps >= 0),
            wall_seconds REAL NOT NULL CHECK (wall_seconds >= 0),
            gate_bd_rate REAL,
            gate_result TEXT,
            role TEXT NOT NULL CHECK (role IN ('champion', 'challenger', 'retired')),
            file_path TEXT
        ) STRICT;
        CREATE UNIQUE INDEX models_single_champion ON models(role) WHERE role = 'champion';
        CREATE INDEX models_by_parent ON models(parent_id);

        CREATE TABLE archives (
            id TEXT PRIMARY KEY NOT NULL CHECK (length(id) > 0),
            path TEXT NOT NULL UNIQUE,
            file_name TEXT NOT NULL,
            bytes INTEGER NOT NULL CHECK (bytes >= 0),
            model_id TEXT NOT NULL REFERENCES models(id) ON DELETE RESTRICT,
            created_at TEXT NOT NULL,
            sealed_at TEXT,
            verified_at TEXT,
            state TEXT NOT NULL CHECK (state IN ('open', 'sealed', 'verified', 'indexed', 'damaged'))
        ) STRICT;
        CREATE INDEX archives_by_model ON archives(model_id);
        CREATE INDEX archives_by_created ON archives(created_at);

        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            archive_id TEXT NOT NULL REFERENCES archives(id) ON DELETE CASCADE,
            name_bytes BLOB NOT NULL CHECK (length(name_bytes) > 0),
            display_name TEXT NOT NULL,
            source_path TEXT,
            width INTEGER NOT NULL CHECK (width > 0),
            height INTEGER NOT NULL CHECK (height > 0),
            channels INTEGER NOT NULL CHECK (channels BETWEEN 1 AND 4),
            colour_type INTEGER NOT NULL,
            bit_depth INTEGER NOT NULL CHECK (bit_depth IN (1, 2, 4, 8, 16)),
            quality REAL NOT NULL,
            original_bytes INTEGER NOT NULL CHECK (original_bytes >= 0),
            latent_bytes INTEGER NOT NULL CHECK (latent_bytes >= 0),
            original_sha256 TEXT NOT NULL
                CHECK (length(original_sha256) = 64 AND original_sha256 NOT GLOB '*[^0-9a-f]*'),
            psnr REAL NOT NULL,
            ms_ssim REAL NOT NULL,
            frame_offset INTEGER NOT NULL CHECK (frame_offset >= 0),
            frame_length INTEGER NOT NULL CHECK (frame_length > 0),
            encoded_at TEXT NOT NULL,
            UNIQUE (archive_id, name_bytes)
        ) STRICT;
        CREATE INDEX images_by_time ON images(encoded_at, id);
        CREATE INDEX images_by_display_name ON images(display_name);
        CREATE INDEX images_by_original_sha256 ON images(original_sha256);

        CREATE TABLE ingest (
            id INTEGER PRIMARY KEY,
            spool TEXT NOT NULL,
            original_path TEXT NOT NULL,
            claimed_path TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN
                ('claimed', 'encoded', 'appended', 'sealed', 'verified', 'indexed', 'done', 'quarantined')),
            batch_id TEXT,
            error_reason TEXT,
            claimed_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            mtime TEXT NOT NULL,
            sha256 TEXT CHECK (sha256 IS NULL OR (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'))
        ) STRICT;
        CREATE INDEX ingest_by_state ON ingest(state);
        CREATE INDEX ingest_by_batch ON ingest(batch_id) WHERE batch_id IS NOT NULL;
        CREATE UNIQUE INDEX ingest_single_active_claim ON ingest(claimed_path)
            WHERE state NOT IN ('done', 'quarantined');

        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            time TEXT NOT NULL,
            level TEXT NOT NULL CHECK (level IN ('trace', 'debug', 'info', 'notice', 'warning', 'error', 'critical')),
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            subject TEXT
        ) STRICT;
        CREATE INDEX events_by_time ON events(time);
        CREATE INDEX events_by_kind ON events(kind, id);

        CREATE TABLE training_runs (
            id INTEGER PRIMARY KEY,
            parent_model_id TEXT NOT NULL REFERENCES models(id) ON DELETE RESTRICT,
            challenger_model_id TEXT REFERENCES models(id) ON DELETE RESTRICT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            steps INTEGER NOT NULL CHECK (steps >= 0),
            state TEXT NOT NULL CHECK (state IN ('running', 'interrupted', 'finished', 'failed')),
            gate_bd_rate REAL,
            result TEXT CHECK (result IS NULL OR result IN ('promoted', 'rejected')),
            checkpoint_path TEXT,
            error TEXT
        ) STRICT;
        CREATE INDEX training_runs_by_state ON training_runs(state);

        CREATE TABLE reservoir (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            source_sha256 TEXT NOT NULL,
            held_back INTEGER NOT NULL CHECK (held_back IN (0, 1)),
            added_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX reservoir_by_held_back ON reservoir(held_back);
        CREATE INDEX reservoir_by_source ON reservoir(source_sha256);

        CREATE TABLE catalog_meta (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
        """

    // Frozen: v2. `images.ms_ssim` becomes nullable: images under 161 px a side have no MS-SSIM
    // (NaN in the archive record, which SQLite stores as NULL). SQLite cannot drop a NOT NULL, so
    // the table is rebuilt with the same rows, ids and indexes.
    private static let v2 = """
        CREATE TABLE images_v2 (
            id INTEGER PRIMARY KEY,
            archive_id TEXT NOT NULL REFERENCES archives(id) ON DELETE CASCADE,
            name_bytes BLOB NOT NULL CHECK (length(name_bytes) > 0),
            display_name TEXT NOT NULL,
            source_path TEXT,
            width INTEGER NOT NULL CHECK (width > 0),
            height INTEGER NOT NULL CHECK (height > 0),
            channels INTEGER NOT NULL CHECK (channels BETWEEN 1 AND 4),
            colour_type INTEGER NOT NULL,
            bit_depth INTEGER NOT NULL CHECK (bit_depth IN (1, 2, 4, 8, 16)),
            quality REAL NOT NULL,
            original_bytes INTEGER NOT NULL CHECK (original_bytes >= 0),
            latent_bytes INTEGER NOT NULL CHECK (latent_bytes >= 0),
            original_sha256 TEXT NOT NULL
                CHECK (length(original_sha256) = 64 AND original_sha256 NOT GLOB '*[^0-9a-f]*'),
            psnr REAL NOT NULL,
            ms_ssim REAL,
            frame_offset INTEGER NOT NULL CHECK (frame_offset >= 0),
            frame_length INTEGER NOT NULL CHECK (frame_length > 0),
            encoded_at TEXT NOT NULL,
            UNIQUE (archive_id, name_bytes)
        ) STRICT;
        INSERT INTO images_v2 SELECT * FROM images;
        DROP TABLE images;
        ALTER TABLE images_v2 RENAME TO images;
        CREATE INDEX images_by_time ON images(encoded_at, id);
        CREATE INDEX images_by_display_name ON images(display_name);
        CREATE INDEX images_by_original_sha256 ON images(original_sha256);
        """

    /// Refuses a file that is not a Nacre catalog, or whose schema is newer than this build.
    static func checkCompatible(_ db: Database, path: String) throws {
        let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        if applicationID != 0 && applicationID != Self.applicationID {
            throw CatalogError(
                code: .notACatalog,
                message: "The file is an SQLite database of another program (application_id \(applicationID)). "
                    + "Point Nacre at a new catalog path instead; this file was not changed.",
                path: path)
        }
        if applicationID == 0 {
            let tableCount = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                """) ?? 0
            if tableCount > 0 {
                throw CatalogError(
                    code: .notACatalog,
                    message: "The file is a non-empty SQLite database that Nacre did not create. "
                        + "Point Nacre at a new catalog path instead; this file was not changed.",
                    path: path)
            }
            return
        }
        let migrator = Self.migrator
        if try migrator.hasBeenSuperseded(db) {
            let unknown = try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
            throw CatalogError(
                code: .schemaTooNew,
                message: "The catalog has schema migrations \(unknown) that this build of Nacre does not know "
                    + "(it knows \(migrator.migrations)); a newer Nacre wrote it. Run that newer version, or "
                    + "rebuild a catalog for this version at a new path with `nacre reindex`. The file was not changed.",
                path: path)
        }
    }
}
