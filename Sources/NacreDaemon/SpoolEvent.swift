/// A file seen in an inbox, identified by its raw name bytes (names need not be UTF-8).
public struct SpoolFile: Sendable, Equatable, Hashable {
    /// Name of the spool (``DaemonConfig/Spool/name``).
    public var spool: String
    /// Absolute path of the inbox folder.
    public var directory: String
    /// The file name exactly as stored on disk.
    public var rawName: [UInt8]
    public var size: Int64
    /// Modification time in nanoseconds since the epoch.
    public var mtimeNanoseconds: Int64
    public var device: UInt64
    public var inode: UInt64

    /// The name as text; invalid UTF-8 sequences are shown as U+FFFD.
    public var name: String { String(decoding: rawName, as: UTF8.self) }
    /// Whether ``rawName`` is valid UTF-8 (``path`` is then exact).
    public var hasUTF8Name: Bool { String(validating: rawName, as: UTF8.self) != nil }
    /// `directory/name`; exact only when ``hasUTF8Name``; use ``rawPath`` for file operations.
    public var path: String { directory + "/" + name }
    /// The NUL-terminated path bytes, exact for any name, for `rename(2)` and friends.
    public var rawPath: [CChar] {
        (Array(directory.utf8) + [UInt8(ascii: "/")] + rawName + [0]).map { CChar(bitPattern: $0) }
    }
}

/// Why a spool entry cannot be ingested; the pipeline moves such entries to quarantine.
public struct SpoolRejection: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The stable reasons.
    public enum Code: String, Sendable {
        /// A symbolic link; never followed.
        case symlink
        /// A FIFO, socket or device node.
        case specialFile = "special_file"
        /// A folder (spools are not recursive).
        case directory
        /// The name is not valid UTF-8.
        case nonUTF8Name = "non_utf8_name"
    }

    public var code: Code
    public var message: String
    public var description: String { "\(code.rawValue): \(message)" }
}

/// What the ``SpoolWatcher`` reports.
public enum SpoolEvent: Sendable, Equatable {
    /// A complete regular file, ready to claim.
    case ready(SpoolFile)
    /// An entry that must not be ingested; quarantine it with the reason.
    case rejected(SpoolFile, SpoolRejection)

    public var file: SpoolFile {
        switch self {
        case .ready(let file), .rejected(let file, _): return file
        }
    }
}
