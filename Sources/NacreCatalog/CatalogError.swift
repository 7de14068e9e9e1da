import GRDB

/// An error from the catalog: a stable ``code`` to branch on, and a ``message`` that says what went
/// wrong and what to do about it.
///
/// SQLite errors (a locked or corrupt file, a full disk, a violated constraint) are wrapped: the
/// original error stays available as ``cause``.
public struct CatalogError: Error, CustomStringConvertible, Sendable {
    /// A stable error code. Compare with the static members, e.g. `error.code == .schemaTooNew`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case cannotOpen, notACatalog, corrupt, schemaTooNew, busy, readOnly, diskFull, ioError
            case alreadyExists, notFound, ambiguous, illegalTransition, constraintViolation
            case invalidArgument, cancelled, databaseError
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The file cannot be opened or created (missing folder, permissions).
        public static let cannotOpen = Code(.cannotOpen)
        /// The file is an SQLite database that belongs to some other program.
        public static let notACatalog = Code(.notACatalog)
        /// The file is not a database, or SQLite found it damaged.
        public static let corrupt = Code(.corrupt)
        /// The catalog was migrated by a newer Nacre; this build does not know its schema.
        public static let schemaTooNew = Code(.schemaTooNew)
        /// Another connection or process held the database lock for longer than the busy timeout.
        public static let busy = Code(.busy)
        /// The database file or its folder is read-only.
        public static let readOnly = Code(.readOnly)
        /// The disk or the quota is full.
        public static let diskFull = Code(.diskFull)
        /// The operating system reported an I/O error.
        public static let ioError = Code(.ioError)
        /// A row with the same key already exists (archive id, image name in an archive, path…).
        public static let alreadyExists = Code(.alreadyExists)
        /// The row asked for does not exist.
        public static let notFound = Code(.notFound)
        /// A name matches more than one image; name the archive too.
        public static let ambiguous = Code(.ambiguous)
        /// An ingest (or model) state change that the pipeline does not allow.
        public static let illegalTransition = Code(.illegalTransition)
        /// A row breaks a schema rule (a check, a missing referenced row, a null).
        public static let constraintViolation = Code(.constraintViolation)
        /// A caller passed a value the catalog cannot accept.
        public static let invalidArgument = Code(.invalidArgument)
        /// The calling task was cancelled before the database was reached.
        public static let cancelled = Code(.cancelled)
        /// Any other SQLite error.
        public static let databaseError = Code(.databaseError)

        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String
    /// The catalog file concerned, when known.
    public var path: String?
    /// The underlying error (usually a GRDB `DatabaseError`), when there is one.
    public var cause: (any Error)?

    public init(code: Code, message: String, path: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.cause = cause
    }

    public var description: String {
        var text = "CatalogError(\(code)): \(message)"
        if let path { text += " [catalog: \(path)]" }
        if let cause, !(cause is CatalogError) { text += " (cause: \(cause))" }
        return text
    }
}

extension CatalogError {
    /// Wraps any error thrown while doing `action` on the catalog at `path`. A `CatalogError`
    /// passes through unchanged.
    static func wrapping(_ error: any Error, while action: String, path: String?) -> CatalogError {
        if var error = error as? CatalogError {
            if error.path == nil { error.path = path }
            return error
        }
        if error is CancellationError {
            return CatalogError(code: .cancelled, message: "\(action) was cancelled before it ran; nothing was changed.",
                                path: path, cause: error)
        }
        if let recordError = error as? RecordError {
            return CatalogError(code: .notFound, message: "\(action) failed: \(recordError). Re-read the catalog; the row may have been removed by a reindex.",
                                path: path, cause: error)
        }
        guard let dbError = error as? DatabaseError else {
            return CatalogError(code: .databaseError, message: "\(action) failed: \(error).", path: path, cause: error)
        }
        let detail = dbError.message ?? "\(dbError.resultCode)"
        let (code, advice) = classify(dbError)
        return CatalogError(code: code, message: "\(action) failed: \(detail). \(advice)", path: path, cause: dbError)
    }

    /// The row a caller tried to move to a state the pipeline does not allow.
    static func illegalTransition(_ what: String, from: String, to: String, allowed: [String]) -> CatalogError {
        CatalogError(code: .illegalTransition,
                     message: "\(what) cannot go from '\(from)' to '\(to)' (allowed from '\(from)': \(allowed.isEmpty ? "none, it is final" : allowed.joined(separator: ", "))). "
                        + "This is a pipeline bug or a stale view of the row; re-read it and retry. Nothing was changed.")
    }

    static func invalidArgument(_ message: String) -> CatalogError {
        CatalogError(code: .invalidArgument, message: message)
    }

    private static func classify(_ error: DatabaseError) -> (Code, String) {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            return (.alreadyExists, "A row with the same key is already in the catalog; nothing from this operation was written.")
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            return (.constraintViolation, "A referenced row (model, archive) is missing; insert it first. Nothing from this operation was written.")
        default: break
        }
        switch error.resultCode {
        case .SQLITE_CONSTRAINT:
            return (.constraintViolation, "The values break a catalog rule; nothing from this operation was written.")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return (.busy, "Another process holds the catalog lock (a second daemon, or a long reindex?). Wait for it to finish, or stop it, and retry.")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return (.corrupt, "The catalog file is not a readable SQLite database. Move it aside and rebuild it from the archives with `nacre reindex`.")
        case .SQLITE_READONLY:
            return (.readOnly, "The catalog file or its folder is not writable by this user; fix the permissions (the folder must be writable for the WAL files).")
        case .SQLITE_FULL:
            return (.diskFull, "The disk holding the catalog is full; free space and retry.")
        case .SQLITE_CANTOPEN:
            return (.cannotOpen, "Check that the folder exists and is writable by this user.")
        case .SQLITE_IOERR:
            return (.ioError, "The operating system reported an I/O error; check the disk and the system log.")
        default:
            return (.databaseError, "Unexpected SQLite error; the catalog was left as it was before this operation.")
        }
    }
}
