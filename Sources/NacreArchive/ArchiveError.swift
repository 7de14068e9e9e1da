/// An error from reading or writing a `.nacre` archive.
///
/// `code` is stable and meant for programs (compare it, switch on it); `message` is for people and
/// says what went wrong and what to do about it. Modelled on SwiftNIO's `FileSystemError`.
public struct ArchiveError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable identifier of the kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, e.g. `"checksumMismatch"`.
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The file is not a Nacre archive (no manifest or trailer magic).
        public static let notAnArchive = Code("notAnArchive")
        /// The archive was written in a format version this reader does not support.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// The data ends before a structure it announced is complete.
        public static let truncated = Code("truncated")
        /// Stored bytes do not match their checksum.
        public static let checksumMismatch = Code("checksumMismatch")
        /// A frame or structure is malformed (bad field, bad zstd data, unknown kind where one is required).
        public static let corruptFrame = Code("corruptFrame")
        /// An offset or length points outside the file or overlaps another structure.
        public static let indexOutOfBounds = Code("indexOutOfBounds")
        /// An operating-system call failed (open, read, write, fsync, rename).
        public static let ioFailure = Code("ioFailure")
        /// The destination archive already exists; sealed archives are never modified.
        public static let alreadyExists = Code("alreadyExists")
        /// The requested image is not in the archive.
        public static let notFound = Code("notFound")
        /// A caller passed a value the format cannot store (duplicate name, wrong digest length...).
        public static let invalidArgument = Code("invalidArgument")
        /// The writer was used after it was sealed or aborted.
        public static let writerClosed = Code("writerClosed")
        /// A frame announces more content than the reader accepts (decompression-bomb guard).
        public static let tooLarge = Code("tooLarge")
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String
    /// The archive's path, when known.
    public var path: String?
    /// The byte offset in the archive the failure concerns, when known.
    public var offset: UInt64?
    /// The `errno` of a failed system call, when there was one.
    public var systemErrno: Int32?

    public init(code: Code, message: String, path: String? = nil, offset: UInt64? = nil, systemErrno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.systemErrno = systemErrno
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let offset { text += " (at byte \(offset))" }
        if let path { text += " [\(path)]" }
        if let systemErrno { text += " (errno \(systemErrno))" }
        return text
    }

    /// The same error with the archive path attached (if it had none).
    func at(path newPath: String?) -> ArchiveError {
        var copy = self
        if copy.path == nil { copy.path = newPath }
        return copy
    }

    /// The same error with a byte offset attached (if it had none).
    func at(offset newOffset: UInt64) -> ArchiveError {
        var copy = self
        if copy.offset == nil { copy.offset = newOffset }
        return copy
    }

    static func truncated(_ what: String) -> ArchiveError {
        ArchiveError(code: .truncated, message: "\(what) ends early; the file was cut short (interrupted copy or write). Recopy it from a good source; `nacre verify` lists what is still readable.")
    }

    static func corrupt(_ what: String) -> ArchiveError {
        ArchiveError(code: .corruptFrame, message: "\(what); the bytes are damaged. Restore the archive from a backup; `nacre verify` lists what is still readable.")
    }

    static func checksum(_ what: String) -> ArchiveError {
        ArchiveError(code: .checksumMismatch, message: "\(what) does not match its checksum; the bytes are damaged. Restore the archive from a backup; `nacre verify` lists what is still readable.")
    }
}
