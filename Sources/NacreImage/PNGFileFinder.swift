import Foundation

/// Finds the PNG files below a folder: the one walker behind `nacre pack`, the benches and the
/// training data loader.
///
/// Rules: `*.png` names (any case); hidden entries (names starting with `.`) are skipped, and
/// symbolic links are neither followed nor returned, so a walk never leaves the folder. Results
/// are sorted by their relative name's bytes, which is stable across machines and locales.
public enum PNGFileFinder {
    /// One PNG file found below a folder.
    public struct Found: Hashable, Sendable {
        /// Path to read (the folder joined with `relativeName`).
        public var path: String
        /// Path relative to the folder searched, with `/` separators.
        public var relativeName: String
    }

    /// PNG files below `folder`, recursively. Throws ``ImageError/Code-swift.struct/unreadable``
    /// when `folder` or a folder below it cannot be listed.
    public static func files(under folder: String) throws(ImageError) -> [Found] {
        var found: [Found] = []
        try collect(folder: folder, relative: "", into: &found)
        return found.sorted { Array($0.relativeName.utf8).lexicographicallyPrecedes(Array($1.relativeName.utf8)) }
    }

    /// Whether `path` is a folder itself (not a symbolic link to one).
    public static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    private static func collect(folder: String, relative: String, into found: inout [Found]) throws(ImageError) {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw ImageError(code: .unreadable, message: "cannot list \(folder): \(error.localizedDescription). Check that it exists and is readable.")
        }
        for entry in entries where !entry.hasPrefix(".") {
            let path = (folder as NSString).appendingPathComponent(entry)
            let name = relative.isEmpty ? entry : relative + "/" + entry
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try collect(folder: path, relative: name, into: &found)
            case S_IFREG where entry.lowercased().hasSuffix(".png"):
                found.append(Found(path: path, relativeName: name))
            default:
                continue
            }
        }
    }
}
