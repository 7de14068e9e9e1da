#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import NacreDaemon

private let tmpAndShmAreSeparateFileSystems: Bool = {
    var tmp = stat(), shm = stat()
    return stat("/tmp", &tmp) == 0 && stat("/dev/shm", &shm) == 0 && tmp.st_dev != shm.st_dev
}()

@Suite("Quarantine")
struct QuarantineTests {
    private func spoolFile(_ folder: TemporaryFolder, raw: [UInt8]) -> SpoolFile {
        SpoolFile(spool: "main", directory: folder.sub("inbox"), rawName: raw, size: 4, mtimeNanoseconds: 0, device: 0, inode: 0)
    }

    private func reason(_ path: String) -> String {
        (try? String(contentsOfFile: path + ".reason", encoding: .utf8)) ?? ""
    }

    private let fixedDate = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z

    @Test func movesAFileWithAReasonBesideIt() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        folder.makeFolder("inbox")
        let quarantine = Quarantine(folder: folder.makeFolder("quarantine"))
        folder.write("inbox/bad.png", "nope")
        let moved = try quarantine.move(spoolFile(folder, raw: Array("bad.png".utf8)), code: "not_png", message: "no PNG signature", now: fixedDate)
        #expect(moved == folder.sub("quarantine/20270115T080000Z-bad.png"))
        #expect(try String(contentsOfFile: moved, encoding: .utf8) == "nope")
        #expect(access(folder.sub("inbox/bad.png"), F_OK) != 0)
        let text = reason(moved)
        #expect(text.contains("code: not_png\n"))
        #expect(text.contains("message: no PNG signature\n"))
        #expect(text.contains("original_name: bad.png\n"))
        #expect(text.contains("quarantined_at: 2027-01-15T08:00:00Z"))

        // A second file of the same name at the same second gets a suffix.
        folder.write("inbox/bad.png", "again")
        let second = try quarantine.move(spoolFile(folder, raw: Array("bad.png".utf8)), code: "not_png", message: "x", now: fixedDate)
        #expect(second == moved + "-1")
    }

    @Test func symlinkIsMovedNotFollowed() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        folder.makeFolder("inbox")
        folder.write("target.txt", "keep me")
        let quarantine = Quarantine(folder: folder.makeFolder("quarantine"))
        #expect(symlink(folder.sub("target.txt"), folder.sub("inbox/link.png")) == 0)
        let moved = try quarantine.move(spoolFile(folder, raw: Array("link.png".utf8)), code: "symlink", message: "link", now: fixedDate)
        var info = stat()
        #expect(lstat(moved, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
        #expect(try String(contentsOfFile: folder.sub("target.txt"), encoding: .utf8) == "keep me")
        #expect(reason(moved).contains("symlink_target: \(folder.sub("target.txt"))"))
    }

    @Test func nonUTF8AndNewlineNamesAreEscaped() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        folder.makeFolder("inbox")
        let quarantine = Quarantine(folder: folder.makeFolder("quarantine"))
        let raw: [UInt8] = [0x61, 0xFF, 0x0A, 0x62, 0x25, 0x2E, 0x70, 0x6E, 0x67]  // a \xFF \n b % .png
        let path = (Array(folder.sub("inbox/").utf8) + raw + [0]).map { CChar(bitPattern: $0) }
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0)
        close(fd)
        let moved = try quarantine.move(spoolFile(folder, raw: raw), code: "non_utf8_name", message: "bad name", now: fixedDate)
        #expect(moved.hasSuffix("-a%FF%0Ab%25.png"))
        #expect(access(moved, F_OK) == 0)
        #expect(reason(moved).contains("original_name: a%FF%0Ab%25.png\n"))
    }

    @Test func escapeKeepsValidUnicode() {
        #expect(Quarantine.escape(Array("café/é.png".utf8)) == "café/é.png")
        #expect(Quarantine.escape(Array("a/b".utf8), escapingSlash: true) == "a%2Fb")
        #expect(Quarantine.escape([0xC3]) == "%C3")
    }

    @Test(.enabled(if: tmpAndShmAreSeparateFileSystems, "needs /tmp and /dev/shm on different file systems"))
    func acrossFileSystemsTheFileIsCopiedThenUnlinked() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        folder.makeFolder("inbox")
        let elsewhere = "/dev/shm/nacre-quarantine-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        folder.write("inbox/far.png", String(repeating: "z", count: 3 << 20))
        let moved = try Quarantine(folder: elsewhere).move(spoolFile(folder, raw: Array("far.png".utf8)), code: "c", message: "m", now: fixedDate)
        #expect(try Data(contentsOf: URL(fileURLWithPath: moved)).count == 3 << 20)
        #expect(access(folder.sub("inbox/far.png"), F_OK) != 0)
    }

    @Test func vanishedFileLeavesOnlyTheReason() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        folder.makeFolder("inbox")
        let quarantine = Quarantine(folder: folder.makeFolder("quarantine"))
        #expect(throws: DaemonError.self) {
            try quarantine.move(spoolFile(folder, raw: Array("ghost.png".utf8)), code: "c", message: "m", now: fixedDate)
        }
    }

    @Test func atomicWriteReplacesWholeFiles() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        try AtomicFile.write(Array("one".utf8), to: folder.sub("f"))
        try AtomicFile.write(Array("two".utf8), to: folder.sub("f"))
        #expect(try String(contentsOfFile: folder.sub("f"), encoding: .utf8) == "two")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".nacre-write-") }
        #expect(leftovers.isEmpty)
    }
}
