#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// Durability for many files at once: after writing a set of files (each atomically, by
/// temporary file and rename, but without its own fsyncs), one `syncfs(2)` commits them all,
/// with their folders' entries, instead of two fsyncs per file.
public enum FileSystemSync {
    /// Makes every earlier write, rename and unlink on the file system holding `path` durable.
    public static func sync(containing path: String) throws(AtomicFileError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AtomicFileError(step: "open", path: path) }
        defer { close(fd) }
        guard syncfs(fd) == 0 else { throw AtomicFileError(step: "syncfs the file system of", path: path) }
    }
}
