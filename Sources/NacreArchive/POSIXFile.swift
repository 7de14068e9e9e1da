#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin checked wrappers over the POSIX calls the writer needs; every failure becomes an `ArchiveError`.
enum POSIXFile {
    static func failure(_ action: String, path: String, code: Int32 = errno) -> ArchiveError {
        ArchiveError(code: .ioFailure, message: "Could not \(action): \(String(cString: strerror(code))). Check free space, permissions and the disk, then retry.", path: path, systemErrno: code)
    }

    /// Writes all of `bytes` at the current position, retrying short writes and EINTR.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(ArchiveError) {
        var done = 0
        var failed: Int32 = 0
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let wrote = write(descriptor, raw.baseAddress! + done, raw.count - done)
                if wrote > 0 { done += wrote; continue }
                if wrote < 0 && errno == EINTR { continue }
                failed = wrote < 0 ? errno : EIO
                return
            }
        }
        if failed != 0 { throw failure("write the archive", path: path, code: failed) }
    }

    static func sync(_ descriptor: Int32, path: String) throws(ArchiveError) {
        while fsync(descriptor) != 0 {
            if errno != EINTR { throw failure("flush the archive to disk (fsync)", path: path) }
        }
    }

    /// fsyncs a directory so a rename or link in it is durable.
    static func syncDirectory(_ directory: String) throws(ArchiveError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open the destination folder to flush it", path: directory) }
        defer { close(descriptor) }
        try sync(descriptor, path: directory)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Gives `source` the name `destination` only if `destination` does not exist (hard link, then
    /// unlink of the source), so a sealed archive that appeared meanwhile is never replaced.
    static func moveNoReplace(_ source: String, to destination: String) throws(ArchiveError) {
        if link(source, destination) == 0 {
            unlink(source)
            return
        }
        let code = errno
        if code == EEXIST { throw alreadyExists(destination) }
        // Filesystems without hard links: check, then rename (a narrow race, documented).
        guard code == EPERM || code == EOPNOTSUPP || code == ENOTSUP || code == EMLINK else {
            throw failure("give the archive its final name", path: destination, code: code)
        }
        if exists(destination) { throw alreadyExists(destination) }
        guard rename(source, destination) == 0 else { throw failure("give the archive its final name", path: destination) }
    }

    static func alreadyExists(_ path: String) -> ArchiveError {
        ArchiveError(code: .alreadyExists, message: "An archive with this name already exists; sealed archives are never modified or replaced. Choose another output name or remove the old archive first.", path: path)
    }
}
