#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The folder claimed files wait in until their archive is indexed: `STATE_DIR/processing`.
///
/// Each claim gets its own sub-folder named by a random token, and the file keeps its name in
/// it (`processing/TOKEN/NAME`), so a quarantine or a move to `done_dir` keeps the producer's
/// name, and a claim is recognisable by its path alone. Every move here is made durable (fsync of
/// the file when copied, of both folders after a rename) before the caller records it.
struct ProcessingFolder: Sendable {
    /// `STATE_DIR/processing`.
    let path: String

    init(stateDir: String) {
        path = stateDir + "/processing"
    }

    /// Creates the folder if missing.
    func prepare() throws(PipelineError) {
        if mkdir(path, 0o750) != 0 && errno != EEXIST { throw .system("mkdir", path) }
    }

    /// A fresh, empty claim folder; returns the path the file will have in it.
    func reserve(name: String) throws(PipelineError) -> String {
        for _ in 0..<8 {
            let folder = path + "/" + String(format: "%016llx", UInt64.random(in: 0...UInt64.max))
            if mkdir(folder, 0o750) == 0 { return folder + "/" + name }
            if errno != EEXIST { throw .system("mkdir", folder) }
        }
        throw PipelineError(.fileSystem, "no free claim folder name in \(path); remove stale folders by hand")
    }

    /// Moves the inbox file into its reserved place: a rename, or on another file system a copy
    /// (fsynced) followed by unlinking the inbox file. Throws with `ENOENT` in the message when
    /// the file vanished from the inbox.
    func claim(_ file: SpoolFile, to claimedPath: String) throws(PipelineError) {
        try Self.move(file.rawPath, displayName: file.path, to: claimedPath)
        try Self.syncFolder(Self.parent(of: claimedPath))
        try Self.syncFolder(path)
        try Self.syncFolder(file.directory)
    }

    /// Removes the claim folder of `claimedPath` if it is empty (after the file left it). The
    /// caller fsyncs ``path`` when the removal must be durable (once for many).
    func release(_ claimedPath: String) {
        let folder = Self.parent(of: claimedPath)
        guard folder.hasPrefix(path + "/") else { return }
        rmdir(folder)
    }

    /// The claim folders present, as paths.
    func claimFolders() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
    }

    /// Whether `path` is an existing regular file (not following symlinks).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// Whether something (of any kind) is at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Reads a whole regular file without following a symlink, refusing one over `limit` bytes.
    static func read(_ path: String, limit: Int) throws(PipelineError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let err = errno
            throw .badInput("unreadable", "cannot open the file: \(String(cString: strerror(err))) (errno \(err))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw .badInput("special_file", "not a regular file")
        }
        guard info.st_size <= limit else {
            throw .badInput("too_large", "the file has \(info.st_size) bytes, over the limit of \(limit) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                let err = errno
                throw .badInput("unreadable", "reading the file failed: \(String(cString: strerror(err))) (errno \(err))")
            }
            if count == 0 { break }
            offset += count
        }
        // A file that shrank while being read is re-checked by the PNG decoder (truncated).
        return Array(bytes[..<offset])
    }

    /// Whether the two files hold the same bytes.
    static func sameContent(_ a: String, _ b: String) -> Bool {
        var infoA = stat(), infoB = stat()
        guard lstat(a, &infoA) == 0, lstat(b, &infoB) == 0, infoA.st_size == infoB.st_size else { return false }
        guard let first = FileManager.default.contents(atPath: a), let second = FileManager.default.contents(atPath: b) else {
            return false
        }
        return first == second
    }

    /// Moves a file to `destination` (which must not exist): `rename(2)`, or across file systems
    /// a durable copy and then unlinking the source.
    static func move(_ source: [CChar], displayName: String, to destination: String) throws(PipelineError) {
        if rename(source, destination) == 0 { return }
        guard errno == EXDEV else { throw .system("rename", "\(displayName) to \(destination)") }
        let input = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw .system("open", displayName) }
        defer { close(input) }
        do {
            try AtomicFile.create(at: destination) { target, temporary throws(DaemonError) in
                var chunk = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let count = chunk.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    guard count >= 0 else { throw DaemonError.system("read", displayName) }
                    if count == 0 { return }
                    try AtomicFile.writeAll(target, chunk[..<count], name: temporary)
                }
            }
        } catch {
            throw PipelineError(.fileSystem, "copying \(displayName) to \(destination) failed: \(error)")
        }
        guard unlink(source) == 0 else { throw .system("unlink", displayName) }
    }

    /// A name in `folder` for `name` that is not taken: `name`, else `name-1`, `name-2`, ...
    /// (before the extension).
    static func freeName(for name: String, in folder: String) -> String {
        let stem = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        var candidate = folder + "/" + name
        var number = 1
        while exists(candidate) {
            candidate = folder + "/" + stem + "-\(number)" + (ext.isEmpty ? "" : "." + ext)
            number += 1
        }
        return candidate
    }

    static func syncFolder(_ folder: String) throws(PipelineError) {
        do { try AtomicFile.syncFolder(folder) } catch { throw PipelineError(.fileSystem, error.message) }
    }

    static func parent(of path: String) -> String {
        PathResolver.parentFolder(of: path)
    }

    /// The last component of a path.
    static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
