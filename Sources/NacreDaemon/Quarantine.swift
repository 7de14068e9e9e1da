#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Moves bad spool entries into the quarantine folder, each with a `.reason` file beside it.
///
/// Order, for crash safety: the `.reason` file is written durably first, then the entry is
/// renamed in and both folders are synced. A crash in between leaves the entry in the inbox (it
/// is rejected again at the next scan) and a harmless `.reason` without its file; never an entry
/// in zero places. The quarantine folder must be on the inbox's file system (a rename);
/// otherwise regular files are copied, synced, and only then unlinked from the inbox, and
/// symlinks and special files (no content to keep) are recorded in the reason and removed.
public struct Quarantine: Sendable {
    /// Absolute path of the quarantine folder.
    public let folder: String

    public init(folder: String) {
        self.folder = folder
    }

    /// Quarantines `file` with a reason code and message; returns the path it now has.
    /// The name is `UTC-TIMESTAMP-NAME` (non-UTF-8 bytes and control characters %-escaped),
    /// with `-N` added when taken.
    @discardableResult
    public func move(_ file: SpoolFile, code: String, message: String, now: Date = Date()) throws(DaemonError) -> String {
        let destination = try freeName(for: file, now: now)
        var info = stat()
        let exists = lstat(file.rawPath, &info) == 0
        var reason = [
            "code: \(code)",
            "message: \(Self.escape(Array(message.utf8)))",
            "original_name: \(Self.escape(file.rawName))",
            "spool: \(file.spool)",
            "inbox: \(file.directory)",
            "size: \(file.size)",
            "quarantined_at: \(ISO8601DateFormatter().string(from: now))",
        ]
        if exists, info.st_mode & S_IFMT == S_IFLNK { reason.append("symlink_target: \(Self.escape(Self.linkTarget(file.rawPath)))") }
        try AtomicFile.write(Array((reason.joined(separator: "\n") + "\n").utf8), to: destination + ".reason")
        guard exists else {
            throw DaemonError(code: .spoolUnavailable, message: "\(file.name) vanished from \(file.directory) before it could be quarantined")
        }
        if rename(file.rawPath, destination) != 0 {
            guard errno == EXDEV else { throw DaemonError.system("rename", "\(file.name) into \(folder)") }
            try moveAcrossFileSystems(file, kind: info.st_mode & S_IFMT, to: destination)
        }
        try AtomicFile.syncFolder(folder)
        try AtomicFile.syncFolder(file.directory)
        return destination
    }

    private func freeName(for file: SpoolFile, now: Date) throws(DaemonError) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let base = folder + "/" + formatter.string(from: now) + "-" + Self.escape(file.rawName, escapingSlash: true)
        for attempt in 0..<10_000 {
            let candidate = attempt == 0 ? base : "\(base)-\(attempt)"
            if access(candidate, F_OK) != 0 && access(candidate + ".reason", F_OK) != 0 { return candidate }
        }
        throw DaemonError(code: .systemCall, message: "no free quarantine name for \(file.name) in \(folder)")
    }

    private func moveAcrossFileSystems(_ file: SpoolFile, kind: mode_t, to destination: String) throws(DaemonError) {
        if kind == S_IFREG {
            let source = open(file.rawPath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard source >= 0 else { throw DaemonError.system("open", file.name) }
            defer { close(source) }
            try AtomicFile.create(at: destination) { target, temporary throws(DaemonError) in
                var chunk = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let count = chunk.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    guard count >= 0 else { throw DaemonError.system("read", file.name) }
                    if count == 0 { return }
                    try AtomicFile.writeAll(target, chunk[..<count], name: temporary)
                }
            }
        } else if kind == S_IFDIR {
            throw DaemonError(code: .spoolUnavailable,
                              message: "folder \(file.name) cannot be moved to \(folder) on another file system; remove it by hand")
        }
        guard unlink(file.rawPath) == 0 else { throw DaemonError.system("unlink", file.name) }
    }

    private static func linkTarget(_ path: [CChar]) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count)
        return count > 0 ? buffer[..<count].map { UInt8(bitPattern: $0) } : []
    }

    /// Text safe for a file name and a one-line reason: invalid UTF-8, control characters and
    /// `%` as `%XX`; `/` too when `escapingSlash`.
    static func escape(_ bytes: [UInt8], escapingSlash: Bool = false) -> String {
        var result = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x80, let (scalar, length) = decodeScalar(bytes, at: index) {
                result.unicodeScalars.append(scalar)
                index += length
                continue
            }
            if byte < 0x20 || byte == 0x7F || byte >= 0x80 || byte == UInt8(ascii: "%") || (escapingSlash && byte == UInt8(ascii: "/")) {
                result += String(format: "%%%02X", byte)
            } else {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            }
            index += 1
        }
        return result
    }

    /// One valid multi-byte UTF-8 scalar at `index`, if there is one.
    private static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0
        guard length > 0, index + length <= bytes.count,
              let text = String(validating: bytes[index..<(index + length)], as: UTF8.self),
              text.unicodeScalars.count == 1 else { return nil }
        return (text.unicodeScalars.first!, length)
    }
}
