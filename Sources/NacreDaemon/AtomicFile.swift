#if canImport(Glibc)
import Glibc
#endif

/// Durable file operations: a write lands whole or not at all, and survives a crash once the
/// call returns (temp file, fsync, rename, fsync of the folder).
enum AtomicFile {
    /// Writes `bytes` to `path` atomically; an existing file is replaced. With `durable: false`
    /// nothing is fsynced (still atomic): for a set of files that `FileSystemSync` then makes
    /// durable in one call.
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o640, durable: Bool = true) throws(DaemonError) {
        try create(at: path, mode: mode, durable: durable) { fd, temporary throws(DaemonError) in
            try writeAll(fd, bytes, name: temporary)
        }
    }

    /// Writes every byte of `bytes` to `fd`.
    static func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>, name: String) throws(DaemonError) {
        let array = Array(bytes)
        var offset = 0
        while offset < array.count {
            let written = array.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw DaemonError.system("write", name)
            }
            offset += written
        }
    }

    /// How the names of the temporary files being written begin.
    static let temporaryPrefix = ".nacre-write-"

    /// Creates `path` atomically with contents written by `fill(fd, temporaryPath)`.
    static func create(at path: String, mode: mode_t = 0o640, durable: Bool = true,
                       fill: (Int32, String) throws(DaemonError) -> Void) throws(DaemonError) {
        let folder = PathResolver.parentFolder(of: path)
        var template = Array((folder + "/" + temporaryPrefix + "XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw DaemonError.system("mkstemp", folder) }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do throws(DaemonError) {
            defer { close(fd) }
            try fill(fd, temporary)
            guard fchmod(fd, mode) == 0 else { throw DaemonError.system("fchmod", temporary) }
            guard !durable || fsync(fd) == 0 else { throw DaemonError.system("fsync", temporary) }
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = DaemonError.system("rename", "\(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
        if durable { try syncFolder(folder) }
    }

    /// `fsync` on a folder, making renames and unlinks in it durable.
    static func syncFolder(_ folder: String) throws(DaemonError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DaemonError.system("open", folder) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DaemonError.system("fsync", folder) }
    }
}
