#if canImport(Glibc)
import Glibc
#endif

/// Whole-file writes that a crash can never leave half done: the bytes go to a temporary file
/// beside the target, which is fsynced, renamed over the target, and the folder is fsynced so the
/// rename itself is durable. A reader sees the old file or the new one, never a mix.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically and durably (mode 0644).
    public static func write(_ bytes: [UInt8], to path: String) throws(AtomicFileError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(step: "create a temporary file for", path: path) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        var failure: AtomicFileError?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = AtomicFileError(step: "write", path: path)
                    return
                }
                done += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = AtomicFileError(step: "fsync", path: path) }
        close(fd)
        if let failure { throw failure }
        guard rename(temporary, path) == 0 else { throw AtomicFileError(step: "rename the temporary file to", path: path) }
        renamed = true
        try syncFolder(containing: path)
    }

    /// fsyncs the folder holding `path`, so a rename or unlink in it survives a power cut.
    public static func syncFolder(containing path: String) throws(AtomicFileError) {
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dfd = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw AtomicFileError(step: "open the folder of", path: path) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw AtomicFileError(step: "fsync the folder of", path: path) }
    }
}

/// A failed atomic write: which step failed, on which path, and the system's reason.
public struct AtomicFileError: Error, CustomStringConvertible, Sendable {
    /// The step that failed, e.g. "fsync".
    public var step: String
    /// The file being written.
    public var path: String
    /// errno at the failure.
    public var errorNumber: Int32

    init(step: String, path: String) {
        self.step = step
        self.path = path
        errorNumber = errno
    }

    public var description: String {
        "could not \(step) \(path): \(String(cString: strerror(errorNumber))); check that the folder exists, "
            + "is writable and has free space"
    }
}
