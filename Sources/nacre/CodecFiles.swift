import Foundation
import NacreImage
#if canImport(Glibc)
import Glibc
#endif

/// File helpers shared by the codec commands: PNG folders and atomic writes.
enum CodecFiles {
    /// The PNG files of a folder (or the file itself), sorted by name; at most `limit`.
    static func pngPaths(in path: String, limit: Int? = nil) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CodecCommandError("\(path) does not exist")
        }
        guard isDirectory.boolValue else { return [path] }
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.lowercased().hasSuffix(".png") && !$0.hasPrefix(".") }.sorted()
        let chosen = limit.map { Array(names.prefix($0)) } ?? names
        guard !chosen.isEmpty else { throw CodecCommandError("no PNG files in \(path)") }
        return chosen.map { (path as NSString).appendingPathComponent($0) }
    }

    static func readPNG(_ path: String) throws -> PixelBuffer {
        try PNGReader.read(contentsOfFile: path).pixels
    }

    /// Writes `bytes` atomically: a temporary file, fsync, rename over `path`, fsync of the folder.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CodecCommandError("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw CodecCommandError("writing \(path) failed: \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else { throw CodecCommandError("fsync of \(path) failed") }
        }
        guard rename(tmp, path) == 0 else { throw CodecCommandError("renaming to \(path) failed: \(String(cString: strerror(errno)))") }
        ok = true
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    static func readBytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CodecCommandError("cannot read \(path)") }
        return Array(data)
    }
}

/// A command-line failure with a message that says what to do.
struct CodecCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
