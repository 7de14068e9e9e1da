#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreArchive
import NacreCatalog
import NacreTestSupport
import Testing
@testable import NacreDaemon

/// A corpus of more than 30 kinds of bad spool input, dropped into a running daemon: each kind
/// ends in quarantine with a `.reason` (and a catalog event), a file still being written is not
/// taken until it is complete, and the daemon stays up and keeps archiving good files.
extension PipelineProcessTests {
    @Suite("Bad input")
    struct BadInputTests {
        /// One bad entry: its raw name, how to make it, and the reason codes that are right for it.
        struct Entry {
            var name: [UInt8]
            var codes: Set<String>
            var make: (String) throws -> Void
        }

        /// As root, the daemon runs as nobody so that a mode-000 file is really unreadable to it.
        static let asNobody = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        static let decoderVerdicts: Set<String> = ["corrupt", "truncated", "unsupported", "not_png", "too_large"]

        @Test func corpusIsQuarantinedAndTheDaemonCarriesOn() async throws {
            let daemon = try PipelineDaemon(
                // Stability 2 s: the slow writer's pauses (0.1 s) stay far below it even on a busy machine.
                yaml: pipelineConfigYAML(stabilitySeconds: 2, extraTop: "limits: {max_file_bytes: 100 KiB, max_pixels: 1000000}"),
                asNobody: Self.asNobody)
            defer { daemon.remove() }
            try daemon.start()
            defer { if daemon.isRunning { kill(daemon.pid, SIGKILL) } }
            #expect(await daemon.waitRunning(), "log:\n\(daemon.log)")
            let pid = daemon.pid

            let good = try TestCrops.make(count: 3, prefix: "good")
            let corpus = try Self.corpus(valid: good[0].png)
            #expect(corpus.count >= 30)

            // Build everything in a staging folder on the same file system, hand it to the daemon's
            // user, then rename each entry into the inbox.
            let staging = daemon.folder.makeFolder("staging")
            for entry in corpus { try entry.make(staging + "/" + String(decoding: entry.name, as: UTF8.self)) }
            let rawNames = corpus.map(\.name)
            if Self.asNobody { _ = try NacreExecutable.runChown(staging) }
            for name in rawNames {
                let from = Self.path(staging, name), to = Self.path(daemon.inbox, name)
                #expect(rename(from, to) == 0, "rename \(String(decoding: name, as: UTF8.self)): errno \(errno)")
            }
            // A file still being written: growing, never closed for long; not taken until complete.
            let slow = good[1]
            let slowPath = daemon.inbox + "/" + slow.name
            let writer = Task { await offPool { Self.writeSlowly(slow.png, to: slowPath, seconds: 3) } }

            let expected = corpus.map { Quarantine.escape($0.name) }
            // The `.reason` is written (and synced) before the entry is renamed in, so a reason
            // alone is not yet a finished quarantine: wait for the entries too.
            let allQuarantined = await eventually(timeout: 90) {
                let reasons = daemon.quarantineReasons()
                return Set(reasons.compactMap { $0["original_name"] }).isSuperset(of: expected)
                    && reasons.allSatisfy { Self.exists(daemon.quarantine + "/" + ($0["file"] ?? "")) }
            }
            let reasons = daemon.quarantineReasons()
            #expect(allQuarantined, "not quarantined: \(Set(expected).subtracting(reasons.compactMap { $0["original_name"] })); log:\n\(daemon.log.suffix(3000))")
            for entry in corpus {
                let shown = Quarantine.escape(entry.name)
                let matching = reasons.filter { $0["original_name"] == shown }
                #expect(matching.count == 1, "\(shown): \(matching.count) quarantine entries")
                guard let reason = matching.first else { continue }
                #expect(entry.codes.contains(reason["code"] ?? ""), "\(shown): code \(reason["code"] ?? "none"), expected one of \(entry.codes)")
                #expect(!(reason["message"] ?? "").isEmpty)
                #expect(Self.exists(daemon.quarantine + "/" + reason["file"]!), "\(shown): the entry itself is beside its .reason")
            }
            #expect(reasons.first { $0["original_name"] == "passwd.png" }?["symlink_target"] == "/etc/passwd")

            // The growing file was left alone while it grew, then taken whole; a late good file too.
            await writer.value
            dropIntoInbox(daemon.inbox, name: good[2].name, bytes: good[2].png)
            #expect(await eventually(timeout: 60) { await daemon.status()?["open_batch"]?["images"] == 2 }, "log:\n\(daemon.log.suffix(3000))")
            let sealed = await daemon.request(.seal)
            #expect(sealed?["result"]?["images"] == 2, "\(String(describing: sealed))")
            let archived = try daemon.archivePaths().flatMap { try ArchiveReader.open(path: $0).images.map(\.displayName) }
            #expect(Set(archived) == [slow.name, good[2].name])
            #expect(!reasons.contains { $0["original_name"] == slow.name }, "the file being written was quarantined")

            #expect(daemon.pid == pid && daemon.isRunning, "the daemon restarted or died; log:\n\(daemon.log.suffix(3000))")
            #expect(await daemon.stop() == 0)
            let catalog = try Catalog(path: daemon.catalogPath)
            let events = try await catalog.recentEvents(limit: 500, kind: "ingest.quarantined")
            #expect(events.count >= corpus.count, "\(events.count) quarantine events for \(corpus.count) entries")
        }

        /// Writes `bytes` to `path` in pieces over `seconds`, keeping the file open, then closes it
        /// (blocking: run it off the cooperative pool).
        static func writeSlowly(_ bytes: [UInt8], to path: String, seconds: Double) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { return }
            let pieces = 30
            let size = (bytes.count + pieces - 1) / pieces
            for start in stride(from: 0, to: bytes.count, by: size) {
                _ = bytes[start..<min(bytes.count, start + size)].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                usleep(useconds_t(seconds / Double(pieces) * 1e6))
            }
            close(fd)
            if asNobody { _ = try? NacreExecutable.runChown(path) }
        }

        static func path(_ folder: String, _ name: [UInt8]) -> [CChar] {
            (Array(folder.utf8) + [UInt8(ascii: "/")] + name + [0]).map { CChar(bitPattern: $0) }
        }

        static func deviceID(_ path: String) -> UInt64? {
            var info = stat()
            return stat(path, &info) == 0 ? UInt64(info.st_dev) : nil
        }

        static func exists(_ path: String) -> Bool {
            var info = stat()
            return lstat(path, &info) == 0
        }

        // MARK: The corpus

        static func corpus(valid: [UInt8]) throws -> [Entry] {
            let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("NacreImageTests/Fixtures/png").path
            func bytes(_ name: String, codes: Set<String>, _ content: [UInt8]) -> Entry {
                Entry(name: Array(name.utf8), codes: codes) { path in
                    precondition(FileManager.default.createFile(atPath: path, contents: Data(content)))
                }
            }
            func fixture(_ name: String, _ file: String, codes: Set<String>) throws -> Entry {
                bytes(name, codes: codes, Array(try Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + file))))
            }
            let chunks = PNGChunks(valid)
            var randomBytes = SystemRandomNumberGenerator()
            let nonUTF8 = Array("bad-".utf8) + [0xFF, 0xFE] + Array(".png".utf8)
            let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &randomBytes) }
            var entries: [Entry] = [
                bytes("text.png", codes: ["not_png"], Array("hello, this is not an image\n".utf8)),
                bytes("empty.png", codes: ["empty"], []),
                bytes("truncated-half.png", codes: ["truncated"], Array(valid.prefix(valid.count / 2))),
                bytes("signature-only.png", codes: ["truncated"], Array(valid.prefix(8))),
                bytes("no-iend.png", codes: ["truncated"], Array(valid.dropLast(12))),
                bytes("bad-ihdr-crc.png", codes: ["corrupt"], chunks.flippingIHDRCRC()),
                bytes("bad-idat-data.png", codes: decoderVerdicts, chunks.corruptingIDAT()),
                try fixture("bomb.png", "bomb_60000x60000.png", codes: ["too_large"]),
                try fixture("width-2pow31.png", "width_2pow31.png", codes: ["corrupt", "too_large"]),
                try fixture("width-zero.png", "width_zero.png", codes: ["corrupt"]),
                try fixture("bad-zlib.png", "bad_zlib.png", codes: ["corrupt"]),
                bytes("height-zero.png", codes: ["corrupt"], PNGChunks.headerOnly(width: 64, height: 0)),
                bytes("bit-depth-3.png", codes: ["corrupt", "unsupported"], PNGChunks.headerOnly(width: 8, height: 8, bitDepth: 3)),
                bytes("colour-type-5.png", codes: ["corrupt", "unsupported"], PNGChunks.headerOnly(width: 8, height: 8, colourType: 5)),
                bytes("interlace-2.png", codes: ["corrupt", "unsupported"], PNGChunks.headerOnly(width: 8, height: 8, interlace: 2)),
                bytes("compression-1.png", codes: ["corrupt", "unsupported"], PNGChunks.headerOnly(width: 8, height: 8, compression: 1)),
                bytes("no-idat.png", codes: decoderVerdicts, PNGChunks.headerOnly(width: 8, height: 8)),
                bytes("huge-chunk-length.png", codes: ["truncated", "corrupt"], chunks.withHugeChunkLength()),
                bytes("chunk-flood.png", codes: ["chunk_flood"], chunks.inserting(count: 3000, type: "tEXt", data: Array("k\0v".utf8))),
                bytes("over-pixel-limit.png", codes: ["too_large"], PNGChunks.headerOnly(width: 2000, height: 2000)),
                bytes("over-size-limit.png", codes: ["too_large"], valid + [UInt8](repeating: 0, count: 150_000)),
                bytes("jpeg.png", codes: ["not_png"], [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10] + Array("JFIF".utf8) + noise.prefix(200)),
                bytes("gif.png", codes: ["not_png"], Array("GIF89a".utf8) + noise.prefix(200)),
                bytes("random.png", codes: ["not_png"], [0x00] + noise),
                bytes("signature-then-garbage.png", codes: ["corrupt", "truncated"], Array(valid.prefix(8)) + noise),
                Entry(name: Array("passwd.png".utf8), codes: ["symlink"]) { precondition(symlink("/etc/passwd", $0) == 0) },
                Entry(name: Array("dangling.png".utf8), codes: ["symlink"]) { precondition(symlink("/nonexistent/nacre", $0) == 0) },
                Entry(name: Array("folder-link.png".utf8), codes: ["symlink"]) { precondition(symlink("/tmp", $0) == 0) },
                Entry(name: Array("fifo.png".utf8), codes: ["special_file"]) { precondition(mkfifo($0, 0o644) == 0) },
                Entry(name: Array("socket.png".utf8), codes: ["special_file"]) { try Self.bindSocket(at: $0) },
                Entry(name: Array("folder.png".utf8), codes: ["directory"]) { precondition(mkdir($0, 0o755) == 0) },
                // The name is not UTF-8, so it cannot go through a String path: made from its bytes.
                Entry(name: nonUTF8, codes: ["non_utf8_name"]) { path in
                    let fd = open(Self.path(PathResolver.parentFolder(of: path), nonUTF8), O_WRONLY | O_CREAT | O_EXCL, 0o644)
                    precondition(fd >= 0)
                    _ = valid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    close(fd)
                },
                bytes("new\nline.png", codes: ["control_character_name"], valid),
                bytes("tab\tname.png", codes: ["control_character_name"], valid),
            ]
            if asNobody || getuid() != 0 {
                entries.append(Entry(name: Array("unreadable.png".utf8), codes: ["unreadable"]) { path in
                    precondition(FileManager.default.createFile(atPath: path, contents: Data(valid)))
                    chmod(path, 0)
                })
            }
            return entries
        }

        static func bindSocket(at path: String) throws {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var (address, length) = try SocketIO.address(path)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            precondition(bound == 0)
        }
    }
}

/// Builds damaged PNGs from a valid one, chunk by chunk, with correct CRCs where wanted.
struct PNGChunks {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    let bytes: [UInt8]
    /// (type, start of the length field, end after the CRC).
    let chunks: [(type: String, start: Int, end: Int)]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var found: [(String, Int, Int)] = []
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset..<(offset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            found.append((type, offset, offset + 12 + length))
            offset += 12 + length
        }
        chunks = found
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// Signature, IHDR with these fields (valid CRC), IEND: no image data.
    static func headerOnly(width: UInt32, height: UInt32, bitDepth: UInt8 = 8, colourType: UInt8 = 2,
                           compression: UInt8 = 0, interlace: UInt8 = 0) -> [UInt8] {
        signature + chunk("IHDR", bigEndian(width) + bigEndian(height) + [bitDepth, colourType, compression, 0, interlace])
            + chunk("IEND", [])
    }

    func flippingIHDRCRC() -> [UInt8] {
        var copy = bytes
        copy[chunks[0].end - 1] ^= 0xFF
        return copy
    }

    /// Flips bytes inside the first IDAT's data (its CRC then fails too).
    func corruptingIDAT() -> [UInt8] {
        var copy = bytes
        let idat = chunks.first { $0.type == "IDAT" }!
        for offset in stride(from: idat.start + 10, to: idat.end - 4, by: 7) { copy[offset] ^= 0x5A }
        return copy
    }

    /// After IHDR, a chunk declaring 2^31−16 bytes of data that the file does not have.
    func withHugeChunkLength() -> [UInt8] {
        Array(bytes[..<chunks[0].end]) + PNGChunks.bigEndian(0x7FFF_FFF0) + Array("tEXt".utf8) + Array(repeating: 0x41, count: 64)
    }

    /// `count` copies of a chunk inserted after IHDR (a chunk flood), CRCs valid.
    func inserting(count: Int, type: String, data: [UInt8]) -> [UInt8] {
        let one = PNGChunks.chunk(type, data)
        var result = Array(bytes[..<chunks[0].end])
        result.reserveCapacity(bytes.count + count * one.count)
        for _ in 0..<count { result += one }
        return result + bytes[chunks[0].end...]
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
