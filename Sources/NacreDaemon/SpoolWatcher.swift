#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import Synchronization

/// Watches the inboxes and reports complete files (and entries to reject) as ``SpoolEvent``s.
///
/// inotify (`IN_CLOSE_WRITE`, `IN_MOVED_TO`, `IN_CREATE`) gives prompt notice; a full rescan every
/// `watch.rescan_interval_seconds` (and at once after `IN_Q_OVERFLOW`, at start and after a
/// reconfigure) catches anything inotify missed, including files that arrived while the daemon
/// was down. A file found by a rescan or `IN_CREATE` is reported once its size, mtime and inode
/// stayed unchanged for `watch.stability_seconds`. See ``SpoolTracker`` for the per-entry rules.
///
/// The watcher runs on its own thread (it blocks in `poll`), and delivers events through
/// ``events``, an unbounded `AsyncStream` (one element per inbox entry at most).
public final class SpoolWatcher: Sendable {
    private struct Shared {
        var spools: [DaemonConfig.Spool]
        var watch: DaemonConfig.Watch
        /// Bumped by ``reconfigure(spools:watch:)``; the thread re-syncs when it changes.
        var generation = 0
        var forgotten: [SpoolFile] = []
        var rescanRequested = false
        var running = false
        var stopping = false
        /// Monotonic time of the thread's last loop turn (the watchdog's liveness signal).
        var lastLoop = SocketIO.now()
    }

    /// The watcher thread wakes at least this often, so ``secondsSinceLastLoop`` stays small
    /// while it is healthy.
    static let maxWaitSeconds = 5.0

    /// The reported events; finishes after ``stop()``.
    public let events: AsyncStream<SpoolEvent>
    private let continuation: AsyncStream<SpoolEvent>.Continuation
    private let shared: Mutex<Shared>
    private let wake: (read: Int32, write: Int32)
    private let finished = DispatchGroup()
    private let logger: Logger

    public init(spools: [DaemonConfig.Spool], watch: DaemonConfig.Watch, logger: Logger) throws(DaemonError) {
        (events, continuation) = AsyncStream.makeStream(of: SpoolEvent.self)
        shared = Mutex(Shared(spools: spools, watch: watch))
        wake = try SocketIO.makePipe()
        self.logger = logger
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// Starts the watcher thread and returns once every inbox is watched and scanned once, so
    /// that nothing written after this call can be missed by inotify.
    public func start() throws(DaemonError) {
        let inotify = try InotifyReader()
        let started = shared.withLock { state in
            defer { state.running = true }
            return !state.running
        }
        guard started else { return }
        finished.enter()
        let firstScanDone = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            run(inotify, firstScanDone: firstScanDone)
            finished.leave()
        }
        thread.name = "nacre-spool-watch"
        thread.start()
        firstScanDone.wait()
    }

    /// Stops the thread, waits for it and finishes ``events``.
    public func stop() {
        let wasRunning = shared.withLock { state in
            defer { state.stopping = true }
            return state.running && !state.stopping
        }
        guard wasRunning else { return }
        poke()
        finished.wait()
        continuation.finish()
    }

    /// Replaces the spool list and timings (config reload); triggers a full rescan.
    public func reconfigure(spools: [DaemonConfig.Spool], watch: DaemonConfig.Watch) {
        shared.withLock {
            $0.spools = spools
            $0.watch = watch
            $0.generation += 1
        }
        poke()
    }

    /// Lets a reported file be reported again at the next rescan if it is still there (for a
    /// pipeline that could not claim it this time).
    public func forget(_ file: SpoolFile) {
        shared.withLock { $0.forgotten.append(file) }
        poke()
    }

    /// Seconds since the watcher thread last went round its loop; grows without bound if it is
    /// stuck (e.g. in `lstat` on a hung network file system). 0 when not running (before start,
    /// after stop), so a graceful drain is not mistaken for a hang.
    public var secondsSinceLastLoop: Double {
        shared.withLock { $0.running && !$0.stopping ? SocketIO.now() - $0.lastLoop : 0 }
    }

    /// Asks for a full rescan now.
    public func rescanNow() {
        shared.withLock { $0.rescanRequested = true }
        poke()
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    // MARK: Watcher thread

    private struct Loop {
        var trackers: [String: SpoolTracker] = [:]
        var watches: [Int32: String] = [:]
        var generation = -1
        var nextRescan = 0.0
        /// Inboxes whose last rescan failed, to log the failure once rather than every time.
        var failing: Set<String> = []
    }

    private func run(_ inotify: InotifyReader, firstScanDone: DispatchSemaphore) {
        var loop = Loop()
        var firstScanSignalled = false
        defer { if !firstScanSignalled { firstScanDone.signal() } }
        while true {
            let snapshot = shared.withLock { state in
                defer {
                    state.forgotten = []
                    state.rescanRequested = false
                    state.lastLoop = SocketIO.now()
                }
                return state
            }
            if snapshot.stopping { break }
            let stability = snapshot.watch.stabilitySeconds
            if snapshot.generation != loop.generation {
                resync(&loop, spools: snapshot.spools, inotify: inotify)
                loop.generation = snapshot.generation
                loop.nextRescan = 0
            }
            for file in snapshot.forgotten { loop.trackers[file.spool]?.forget(file.rawName) }
            if snapshot.rescanRequested || !snapshot.forgotten.isEmpty { loop.nextRescan = 0 }

            var now = SocketIO.now()
            if now >= loop.nextRescan {
                rescan(&loop, inotify: inotify, now: now, stability: stability)
                loop.nextRescan = now + snapshot.watch.rescanIntervalSeconds
                if !firstScanSignalled {
                    firstScanSignalled = true
                    firstScanDone.signal()
                }
            }
            for name in loop.trackers.keys.sorted() {
                emit(loop.trackers[name]!.checkPending(now: now, stability: stability))
            }

            let deadline = loop.trackers.values.compactMap { $0.nextDeadline(stability: stability) }
                .reduce(min(loop.nextRescan, now + Self.maxWaitSeconds), min)
            let woke = SocketIO.waitReadable(inotify.fd, deadline: deadline, wake: wake.read)
            if woke == .woken { drainWake() }
            now = SocketIO.now()
            for event in inotify.readEvents() {
                handle(event, loop: &loop, inotify: inotify, now: now, stability: stability)
            }
        }
        for watch in loop.watches.keys { inotify.removeWatch(watch) }
    }

    private func handle(_ event: InotifyReader.Event, loop: inout Loop, inotify: InotifyReader, now: Double, stability: Double) {
        if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
            logger.warning("inotify queue overflowed; rescanning every inbox")
            loop.nextRescan = 0
            return
        }
        guard let spool = loop.watches[event.watch] else { return }
        if event.mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
            // Deleted: IN_IGNORED follows. Moved: the watch would follow the folder elsewhere, so
            // drop it; the next rescan watches whatever folder is at the inbox path again.
            if event.mask & UInt32(IN_MOVE_SELF) != 0 { inotify.removeWatch(event.watch) }
            if event.mask & UInt32(IN_IGNORED | IN_MOVE_SELF) != 0 {
                loop.watches[event.watch] = nil
                logger.error("inbox was removed or moved; will watch it again when it reappears", metadata: ["spool": "\(spool)"])
            }
            return
        }
        let complete = event.mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0
        if let result = loop.trackers[spool]?.examine(event.name, complete: complete, now: now, stability: stability) {
            emit([result])
        }
    }

    /// Matches trackers and watches to the configured spools.
    private func resync(_ loop: inout Loop, spools: [DaemonConfig.Spool], inotify: InotifyReader) {
        let wanted = Dictionary(uniqueKeysWithValues: spools.map { ($0.name, $0) })
        for (watch, name) in loop.watches where wanted[name]?.inbox != loop.trackers[name]?.spool.inbox {
            inotify.removeWatch(watch)
            loop.watches[watch] = nil
        }
        for (name, spool) in wanted where loop.trackers[name]?.spool != spool {
            loop.trackers[name] = SpoolTracker(spool: spool)
        }
        for name in loop.trackers.keys where wanted[name] == nil { loop.trackers[name] = nil }
        loop.failing = []
    }

    /// Re-adds missing watches (before listing, so nothing slips between) and lists every inbox.
    private func rescan(_ loop: inout Loop, inotify: InotifyReader, now: Double, stability: Double) {
        for name in loop.trackers.keys.sorted() {
            let inbox = loop.trackers[name]!.spool.inbox
            do throws(DaemonError) {
                if !loop.watches.values.contains(name) {
                    loop.watches[try inotify.addWatch(inbox)] = name
                }
                emit(try loop.trackers[name]!.rescan(now: now, stability: stability))
                if loop.failing.remove(name) != nil {
                    logger.notice("inbox is readable again", metadata: ["spool": "\(name)", "inbox": "\(inbox)"])
                }
            } catch {
                if loop.failing.insert(name).inserted {
                    logger.error("cannot watch inbox: \(error)", metadata: ["spool": "\(name)"])
                }
            }
        }
    }

    private func emit(_ results: [SpoolEvent]) {
        for event in results {
            switch event {
            case .ready(let file):
                logger.debug("spool file ready", metadata: ["spool": "\(file.spool)", "name": "\(file.name)", "bytes": "\(file.size)"])
            case .rejected(let file, let reason):
                logger.notice("spool entry rejected", metadata: ["spool": "\(file.spool)", "name": "\(file.name)", "reason": "\(reason)"])
            }
            continuation.yield(event)
        }
    }

    private func drainWake() {
        var sink = [UInt8](repeating: 0, count: 64)
        while sink.withUnsafeMutableBytes({ read(wake.read, $0.baseAddress, $0.count) }) > 0 {}
    }
}
