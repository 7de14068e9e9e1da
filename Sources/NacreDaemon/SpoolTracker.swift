#if canImport(Glibc)
import Glibc
#endif

/// The bookkeeping of one inbox: which entries are waiting to become stable, and which were
/// already reported (so each version of a file is reported once).
///
/// Rules: names starting with `.` or ending in `.tmp`/`.part` are ignored; entries are examined
/// with `lstat` and never followed; a regular file is ready after a close-after-write or
/// rename-into event, or once its size, mtime and inode stayed the same for the stability time;
/// anything else is rejected with a reason.
struct SpoolTracker {
    /// What identifies one version of a file.
    struct Version: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var mtime: Int64
    }

    let spool: DaemonConfig.Spool
    private var pending: [[UInt8]: (version: Version, since: Double)] = [:]
    private var reported: [[UInt8]: Version] = [:]

    init(spool: DaemonConfig.Spool) {
        self.spool = spool
    }

    /// Entries a producer is still writing, by convention (docs/SPOOL.md).
    static func isIgnored(_ name: [UInt8]) -> Bool {
        if name.isEmpty || name.first == UInt8(ascii: ".") { return true }
        return name.ends(with: Array(".tmp".utf8)) || name.ends(with: Array(".part".utf8))
    }

    /// Earliest time a pending entry can become stable.
    func nextDeadline(stability: Double) -> Double? {
        pending.values.map { $0.since + stability }.min()
    }

    var pendingCount: Int { pending.count }

    /// Lets a reported file be reported again (e.g. the pipeline could not claim it).
    mutating func forget(_ name: [UInt8]) {
        reported[name] = nil
    }

    /// Looks at one entry; `complete` when inotify said it was closed after writing or renamed in.
    mutating func examine(_ name: [UInt8], complete: Bool, now: Double, stability: Double) -> SpoolEvent? {
        guard !Self.isIgnored(name) else { return nil }
        let path = (Array(spool.inbox.utf8) + [UInt8(ascii: "/")] + name + [0]).map { CChar(bitPattern: $0) }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            pending[name] = nil
            reported[name] = nil
            return nil
        }
        let version = Version(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                              mtime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
        let file = SpoolFile(spool: spool.name, directory: spool.inbox, rawName: name, size: version.size,
                             mtimeNanoseconds: version.mtime, device: version.device, inode: version.inode)
        if reported[name] == version { return nil }

        if let rejection = Self.rejection(mode: info.st_mode, file: file) {
            pending[name] = nil
            reported[name] = version
            return .rejected(file, rejection)
        }
        if !complete {
            if let seen = pending[name], seen.version == version {
                guard now - seen.since >= stability else { return nil }
            } else if stability > 0 {
                pending[name] = (version, now)
                return nil
            }
        }
        pending[name] = nil
        reported[name] = version
        return .ready(file)
    }

    /// Re-examines the pending entries whose stability time has passed.
    mutating func checkPending(now: Double, stability: Double) -> [SpoolEvent] {
        let due = pending.filter { now - $0.value.since >= stability }.map(\.key)
        return due.compactMap { examine($0, complete: false, now: now, stability: stability) }
    }

    /// Lists the inbox and examines every entry; forgets entries that are gone.
    mutating func rescan(now: Double, stability: Double) throws(DaemonError) -> [SpoolEvent] {
        guard let folder = opendir(spool.inbox) else {
            throw DaemonError.system("opendir", spool.inbox, code: .spoolUnavailable)
        }
        defer { closedir(folder) }
        var names = Set<[UInt8]>()
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [46] || name == [46, 46] { continue }
            names.insert(name)
        }
        pending = pending.filter { names.contains($0.key) }
        reported = reported.filter { names.contains($0.key) }
        return names.sorted { $0.lexicographicallyPrecedes($1) }.compactMap {
            examine($0, complete: false, now: now, stability: stability)
        }
    }

    private static func rejection(mode: mode_t, file: SpoolFile) -> SpoolRejection? {
        switch mode & S_IFMT {
        case S_IFREG:
            guard file.hasUTF8Name else {
                return SpoolRejection(code: .nonUTF8Name, message: "the file name is not valid UTF-8")
            }
            return nil
        case S_IFLNK:
            return SpoolRejection(code: .symlink, message: "symbolic links are never followed; put the file itself in the inbox")
        case S_IFDIR:
            return SpoolRejection(code: .directory, message: "folders are not ingested; spools are not recursive")
        default:
            return SpoolRejection(code: .specialFile, message: "not a regular file (FIFO, socket or device)")
        }
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
