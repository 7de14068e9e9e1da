#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import NacreDaemon

@Suite("SpoolWatcher")
struct SpoolWatcherTests {
    /// A watcher on `folder/inbox`; long timings by default so that only inotify can be fast.
    private func makeWatcher(_ folder: TemporaryFolder, stability: Double = 30, rescan: Double = 30,
                             spools: [DaemonConfig.Spool]? = nil) throws -> (SpoolWatcher, EventCollector) {
        let inbox = folder.makeFolder("inbox")
        let watcher = try SpoolWatcher(spools: spools ?? [.init(name: "main", inbox: inbox)],
                                       watch: .init(stabilitySeconds: stability, rescanIntervalSeconds: rescan),
                                       logger: testLogger)
        let collector = EventCollector(watcher)
        try watcher.start()
        return (watcher, collector)
    }

    @Test func closedAfterWritingIsReadyAtOnce() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder)
        defer { watcher.stop() }
        folder.write("inbox/photo.png", "png bytes")
        #expect(await eventually(timeout: 3) { events.names(ready: true) == ["photo.png"] })
        guard case .ready(let file)? = events.events.first else { return }
        #expect(file.size == 9)
        #expect(file.spool == "main")
        #expect(file.path == folder.sub("inbox/photo.png"))
    }

    @Test func fileStillBeingWrittenIsNotReady() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder, stability: 1, rescan: 0.1)
        defer { watcher.stop() }
        let fd = open(folder.sub("inbox/growing.png"), O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0)
        // Keep it open and growing for longer than the stability time (writes 0.1 s apart, so
        // even a loaded machine does not leave a 1 s gap).
        for _ in 0..<15 {
            _ = write(fd, "chunk", 5)
            }
        #expect(events.events.isEmpty, "reported while still being written: \(events.events)")
        close(fd)
        #expect(await eventually(timeout: 3) { events.names(ready: true) == ["growing.png"] })
        guard case .ready(let file)? = events.events.first else { return }
        #expect(file.size == 75)
    }

    @Test func stableFileWithoutCloseEventIsReadyAfterStabilityTime() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        folder.write("outside.png", "linked")
        let (watcher, events) = try makeWatcher(folder, stability: 0.5, rescan: 30)
        defer { watcher.stop() }
        // A hard link creates the entry without IN_CLOSE_WRITE or IN_MOVED_TO.
        let start = SocketIO.now()
        #expect(link(folder.sub("outside.png"), folder.sub("inbox/linked.png")) == 0)
        #expect(await eventually(timeout: 4) { events.names(ready: true) == ["linked.png"] })
        #expect(SocketIO.now() - start >= 0.45, "taken before it was stable for the configured time")
    }

    @Test func hiddenAndPartialNamesAreIgnoredUntilRenamedIn() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder, stability: 0.1, rescan: 0.1)
        defer { watcher.stop() }
        folder.write("inbox/.hidden.png")
        folder.write("inbox/upload.png.part")
        folder.write("inbox/upload2.png.tmp")
        try await Task.sleep(for: .milliseconds(600))  // several rescans, past the stability time
        #expect(events.events.isEmpty, "\(events.events)")
        #expect(rename(folder.sub("inbox/upload.png.part"), folder.sub("inbox/upload.png")) == 0)
        #expect(await eventually(timeout: 3) { events.names(ready: true) == ["upload.png"] })
    }

    @Test func renameIntoInboxFromOutsideIsPickedUp() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder)
        defer { watcher.stop() }
        folder.write("staging.png", "complete")
        #expect(rename(folder.sub("staging.png"), folder.sub("inbox/final.png")) == 0)
        #expect(await eventually(timeout: 3) { events.names(ready: true) == ["final.png"] })
    }

    @Test func symlinksFIFOsAndFoldersAreRejectedNotFollowed() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder, stability: 0.1, rescan: 0.1)
        defer { watcher.stop() }
        #expect(symlink("/etc/passwd", folder.sub("inbox/passwd.png")) == 0)
        #expect(mkfifo(folder.sub("inbox/pipe.png"), 0o644) == 0)
        folder.makeFolder("inbox/sub")
        #expect(await eventually(timeout: 3) { events.events.count >= 3 })
        #expect(events.rejection(for: "passwd.png") == .symlink)
        #expect(events.rejection(for: "pipe.png") == .specialFile)
        #expect(events.rejection(for: "sub") == .directory)
        #expect(events.names(ready: true).isEmpty)
        // Reported once each, not at every rescan.
        try await Task.sleep(for: .milliseconds(500))
        #expect(events.events.count == 3)
    }

    @Test func nonUTF8NamesAreRejected() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder, stability: 0.1, rescan: 0.1)
        defer { watcher.stop() }
        let raw: [UInt8] = Array(folder.sub("inbox/").utf8) + [0x62, 0xFF, 0xFE, 0x2E, 0x70, 0x6E, 0x67, 0]
        let fd = raw.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o644) }
        }
        #expect(fd >= 0)
        close(fd)
        #expect(await eventually(timeout: 3) { !events.events.isEmpty })
        guard case .rejected(let file, let reason)? = events.events.first else {
            Issue.record("expected a rejection, got \(events.events)")
            return
        }
        #expect(reason.code == .nonUTF8Name)
        #expect(file.rawName == [0x62, 0xFF, 0xFE, 0x2E, 0x70, 0x6E, 0x67])
        #expect(!file.hasUTF8Name)
        // The raw path reaches the file byte for byte.
        var info = stat()
        #expect(lstat(file.rawPath, &info) == 0)
    }

    @Test func filesPresentBeforeStartAreFoundByTheFirstScan() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        folder.makeFolder("inbox")
        folder.write("inbox/early1.png")
        folder.write("inbox/early2.png")
        let (watcher, events) = try makeWatcher(folder, stability: 0.2, rescan: 30)
        defer { watcher.stop() }
        #expect(await eventually(timeout: 3) { events.names(ready: true).sorted() == ["early1.png", "early2.png"] })
    }

    @Test func filesCreatedWhileNotWatchingAreFoundAfterRestart() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (first, firstEvents) = try makeWatcher(folder, stability: 0.2, rescan: 0.2)
        folder.write("inbox/a.png")
        #expect(await eventually(timeout: 3) { firstEvents.names(ready: true) == ["a.png"] })
        first.stop()
        folder.write("inbox/b.png")
        let (second, secondEvents) = try makeWatcher(folder, stability: 0.2, rescan: 0.2)
        defer { second.stop() }
        // A new watcher knows nothing: it reports both the unclaimed a.png and the new b.png.
        #expect(await eventually(timeout: 3) { secondEvents.names(ready: true).sorted() == ["a.png", "b.png"] })
    }

    @Test func eachVersionIsReportedOnceUnlessForgotten() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder, stability: 0.1, rescan: 0.1)
        defer { watcher.stop() }
        folder.write("inbox/once.png", "v1")
        #expect(await eventually(timeout: 3) { events.names(ready: true).count == 1 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(events.names(ready: true).count == 1)
        watcher.forget(events.events[0].file)
        #expect(await eventually(timeout: 3) { events.names(ready: true).count == 2 })
        folder.write("inbox/once.png", "version 2")  // a new version is reported again
        #expect(await eventually(timeout: 3) { events.names(ready: true).count == 3 })
    }

    @Test func reconfigureAddsASpool() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder, stability: 0.1, rescan: 30)
        defer { watcher.stop() }
        let second = folder.makeFolder("inbox2")
        folder.write("inbox2/other.png")
        watcher.reconfigure(spools: [.init(name: "main", inbox: folder.sub("inbox")), .init(name: "two", inbox: second)],
                            watch: .init(stabilitySeconds: 0.1, rescanIntervalSeconds: 30))
        #expect(await eventually(timeout: 3) { events.names(ready: true) == ["other.png"] })
        #expect(events.events.first?.file.spool == "two")
    }

    @Test func missingInboxIsWatchedOnceItAppears() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let inbox = folder.sub("late")
        let watcher = try SpoolWatcher(spools: [.init(name: "late", inbox: inbox)],
                                       watch: .init(stabilitySeconds: 0.1, rescanIntervalSeconds: 0.1), logger: testLogger)
        let events = EventCollector(watcher)
        try watcher.start()
        defer { watcher.stop() }
        try await Task.sleep(for: .milliseconds(300))
        folder.makeFolder("late")
        folder.write("late/x.png")
        #expect(await eventually(timeout: 3) { events.names(ready: true) == ["x.png"] })
    }

    @Test func inboxMovedAwayAndRecreatedIsWatchedAgain() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, events) = try makeWatcher(folder, stability: 30, rescan: 0.2)
        defer { watcher.stop() }
        #expect(rename(folder.sub("inbox"), folder.sub("old-inbox")) == 0)
        folder.makeFolder("inbox")
        try await Task.sleep(for: .milliseconds(600))  // a rescan re-adds the watch
        folder.write("old-inbox/stray.png")  // not the inbox any more
        folder.write("inbox/new.png")  // only inotify can make this ready (stability is 30 s)
        #expect(await eventually(timeout: 3) { events.names(ready: true) == ["new.png"] })
        try await Task.sleep(for: .milliseconds(300))
        #expect(events.names(ready: true) == ["new.png"])
    }

    @Test func heartbeatStaysFreshWhileIdle() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let (watcher, _) = try makeWatcher(folder, stability: 30, rescan: 3600)
        #expect(watcher.secondsSinceLastLoop < SpoolWatcher.maxWaitSeconds + 1)
        watcher.stop()
        #expect(watcher.secondsSinceLastLoop == 0)
    }

    @Test func ignoredNameRules() {
        #expect(SpoolTracker.isIgnored(Array(".x.png".utf8)))
        #expect(SpoolTracker.isIgnored(Array("x.png.part".utf8)))
        #expect(SpoolTracker.isIgnored(Array("x.tmp".utf8)))
        #expect(!SpoolTracker.isIgnored(Array("x.png".utf8)))
        #expect(!SpoolTracker.isIgnored(Array("partial.png".utf8)))
        #expect(!SpoolTracker.isIgnored(Array("name\nwith newline.png".utf8)))
    }
}
