#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking inotify descriptor and a parser for the events it returns.
/// Owned by the watcher thread once started; never used from two threads at once.
final class InotifyReader: @unchecked Sendable {
    struct Event {
        var watch: Int32
        var mask: UInt32
        /// The entry name inside the watched folder (empty for events about the folder itself).
        var name: [UInt8]
    }

    /// Events on inbox entries plus the loss of the inbox itself. `IN_Q_OVERFLOW` is always
    /// reported by the kernel. `IN_DONT_FOLLOW`/`IN_ONLYDIR`: an inbox that is a symlink or not a
    /// folder is refused.
    static let inboxMask: UInt32 = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF
        | IN_ONLYDIR | IN_DONT_FOLLOW)

    let fd: Int32

    init() throws(DaemonError) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw DaemonError.system("inotify_init1", "the spool watcher", code: .spoolUnavailable) }
    }

    deinit { close(fd) }

    func addWatch(_ folder: String) throws(DaemonError) -> Int32 {
        let watch = inotify_add_watch(fd, folder, Self.inboxMask)
        guard watch >= 0 else { throw DaemonError.system("inotify_add_watch", folder, code: .spoolUnavailable) }
        return watch
    }

    func removeWatch(_ watch: Int32) {
        _ = inotify_rm_watch(fd, watch)
    }

    /// Every event queued now (empty when none).
    func readEvents() -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return events }
            // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + 16 <= count {
                    let watch = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = raw[(offset + 16)..<min(offset + 16 + length, count)]
                    let name = Array(nameBytes.prefix { $0 != 0 })
                    events.append(Event(watch: watch, mask: mask, name: name))
                    offset += 16 + length
                }
            }
        }
    }
}
