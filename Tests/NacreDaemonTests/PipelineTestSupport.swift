#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreArchive
import NacreCatalog
import NacreCodec
import NacreEngine
import NacreImage
import NacreStore
import NacreTestSupport
import Synchronization
import Testing
@testable import NacreDaemon

/// The suites that run real daemons with the ingest pipeline, one after another: each keeps
/// the CPU busy (model loading, encoding), and in parallel they would starve each other and
/// the timing-sensitive socket tests.
@Suite("Pipeline processes", .serialized, .enabled(if: NacreExecutable.path != nil, "the nacre executable is not built (run `swift build` first)"))
struct PipelineProcessTests {}

/// A `nacre daemon` child process running the real ingest pipeline (built-in base model) on a
/// temporary folder: start, `kill -9`, graceful stop, control requests.
final class PipelineDaemon: Sendable {
    let folder: TemporaryFolder
    /// Run the daemon as uid/gid 65534 (through setpriv), so permission bits bind it.
    let asNobody: Bool
    private let current = Mutex<Process?>(nil)

    init(yaml: String, asNobody: Bool = false) throws {
        folder = TemporaryFolder()
        self.asNobody = asNobody
        try yaml.write(toFile: folder.sub("nacre.yaml"), atomically: true, encoding: .utf8)
        for name in ["inbox", "archives", "quarantine", "state", "restore"] { folder.makeFolder(name) }
        _ = FileManager.default.createFile(atPath: folder.sub("daemon.log"), contents: nil)
        if asNobody {
            chmod(folder.path, 0o755)
            _ = try NacreExecutable.runChown(folder.path)
        }
    }

    var inbox: String { folder.sub("inbox") }
    var archives: String { folder.sub("archives") }
    var quarantine: String { folder.sub("quarantine") }
    var processing: String { folder.sub("state/processing") }
    var catalogPath: String { folder.sub("state/catalog.sqlite") }
    var socketPath: String { folder.sub("s.sock") }
    var log: String { (try? String(contentsOfFile: folder.sub("daemon.log"), encoding: .utf8)) ?? "" }
    var isRunning: Bool { current.withLock { $0?.isRunning ?? false } }
    var pid: Int32 { current.withLock { $0?.processIdentifier ?? 0 } }

    /// Starts the daemon (appending to `daemon.log`).
    func start() throws {
        let process = Process()
        let nacre = NacreExecutable.path!
        let arguments = ["daemon", "--config", folder.sub("nacre.yaml")]
        if asNobody {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid", "65534", "--regid", "65534", "--clear-groups", nacre] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: nacre)
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = nil
        process.environment = environment
        let log = FileHandle(forWritingAtPath: folder.sub("daemon.log"))!
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        current.withLock { $0 = process }
    }

    /// `kill -9` and wait for the process to be gone.
    func kill9() async {
        guard let process = current.withLock({ $0 }) else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = await eventually(timeout: 10) { !process.isRunning }
    }

    /// SIGTERM; the exit status, or nil if it did not exit within `timeout`.
    func stop(timeout: Double = 60) async -> Int32? {
        guard let process = current.withLock({ $0 }) else { return nil }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        guard await eventually(timeout: timeout, { !process.isRunning }) else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    /// One request; the whole reply object, or nil when the daemon did not answer.
    func request(_ command: ControlCommand, args: [String: JSONValue] = [:], timeout: Double = 120) async -> JSONValue? {
        let path = socketPath
        return await offPool {
            guard let client = try? ControlClient(path: path, timeout: timeout) else { return nil }
            return try? client.send(ControlRequest(command: command, args: args))
        }
    }

    func status() async -> JSONValue? {
        await request(.status, timeout: 10)?["result"]
    }

    /// Waits until `status` says the pipeline runs (model loaded, recovery done).
    func waitRunning(timeout: Double = 90) async -> Bool {
        await eventually(timeout: timeout) { await self.status()?["pipeline"] == "running" }
    }

    /// Names of the files in the claim folders of the processing folder.
    func processingNames() -> [String] {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: processing)) ?? []
        return folders.flatMap { (try? FileManager.default.contentsOfDirectory(atPath: processing + "/" + $0)) ?? [] }
    }

    /// The sealed archives, by path.
    func archivePaths() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: archives)) ?? []).filter { $0.hasSuffix(".nacre") && !$0.hasPrefix(".") }
            .sorted().map { archives + "/" + $0 }
    }

    /// The quarantine's `.reason` files, parsed into key/value pairs.
    func quarantineReasons() -> [[String: String]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: quarantine)) ?? []
        return names.filter { $0.hasSuffix(".reason") }.sorted().compactMap { name in
            guard let text = try? String(contentsOfFile: quarantine + "/" + name, encoding: .utf8) else { return nil }
            var fields: [String: String] = ["file": String(name.dropLast(".reason".count))]
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return fields
        }
    }

    func remove() { folder.remove() }
}

extension NacreExecutable {
    /// `chown -R 65534:65534 PATH`, for a daemon run as nobody.
    static func runChown(_ path: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/chown")
        process.arguments = ["-R", "65534:65534", path]
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A daemon config for pipeline tests; paths relative to the daemon's folder.
func pipelineConfigYAML(maxImages: Int = 100, maxAgeSeconds: Double = 600, originals: String = "policy: delete",
                        inbox: String = "inbox", stabilitySeconds: Double = 0.3, model: String? = nil,
                        encodeExtra: String = "", extraTop: String = "") -> String {
    """
    spools:
      - name: main
        inbox: \(inbox)
    archive_dir: archives
    state_dir: state
    quarantine_dir: quarantine
    restore_roots: [restore]
    originals: {\(originals)}
    socket:
      path: s.sock
      mode: "0666"
    batch:
      max_images: \(maxImages)
      max_raw_bytes: 1 GiB
      max_age_seconds: \(maxAgeSeconds)
    encode:
      quality: 50
      threads: 1
      \(model.map { "model: " + $0 } ?? "")
      \(encodeExtra)
    watch:
      stability_seconds: \(stabilitySeconds)
      rescan_interval_seconds: 0.5
    log_level: debug
    \(extraTop)
    """
}

/// Small real photo crops (from the codec tests' 128 px fixture photos), each distinct.
enum TestCrops {
    struct Crop: Sendable {
        var name: String
        var png: [UInt8]
        var pixels: PixelBuffer
    }

    static let photoFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NacreCodecTests/Fixtures/photos").path

    /// `count` RGB crops of `side` px (at most 3 photos × 25 windows for side 64).
    static func make(count: Int, side: Int = 64, prefix: String = "crop") throws -> [Crop] {
        let photos = try FileManager.default.contentsOfDirectory(atPath: photoFolder).filter { $0.hasSuffix(".png") }.sorted()
            .map { try PNGReader.read(contentsOfFile: photoFolder + "/" + $0).pixels }
        var crops: [Crop] = []
        let step = 16
        outer: for (number, photo) in photos.enumerated() {
            for y in stride(from: 0, through: photo.height - side, by: step) {
                for x in stride(from: 0, through: photo.width - side, by: step) {
                    if crops.count == count { break outer }
                    let pixels = try window(photo, x: x, y: y, side: side)
                    let png = try PNGWriter.encode(pixels, layout: PNGLayout(channels: .rgb))
                    crops.append(Crop(name: String(format: "%@-%d-%03d-%03d.png", prefix, number, x, y), png: png, pixels: pixels))
                }
            }
        }
        guard crops.count == count else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "only \(crops.count) distinct \(side) px crops available, \(count) asked"])
        }
        return crops
    }

    static func window(_ photo: PixelBuffer, x: Int, y: Int, side: Int) throws -> PixelBuffer {
        var rgb: [UInt8] = []
        rgb.reserveCapacity(side * side * 3)
        for row in y..<(y + side) {
            let start = (row * photo.width + x) * 3
            rgb += photo.rgb[start..<(start + side * 3)]
        }
        return try PixelBuffer(width: side, height: side, rgb: rgb)
    }
}

/// Drops a file into an inbox by the producer convention: a hidden partial name, then a rename.
func dropIntoInbox(_ inbox: String, name: String, bytes: [UInt8]) {
    let partial = inbox + "/." + name + ".part"
    precondition(FileManager.default.createFile(atPath: partial, contents: Data(bytes)))
    precondition(rename(partial, inbox + "/" + name) == 0)
}

/// Restores every image of a sealed archive with its own decoder, as a reader with only the
/// archive would; returns (name, restored pixels, PSNR recorded at encode).
func restoreAll(archive path: String) throws -> [(name: String, pixels: PixelBuffer, recordedPSNR: Double, record: NacreArchive.ImageRecord)] {
    let reader = try ArchiveReader.open(path: path)
    let codec = try ImageRestorer.models(fromModelFrame: try reader.readModel(), engine: try Engine(threads: 1), includingDenoiser: false).codec
    return try reader.images.indices.map { position in
        let image = try reader.readImage(at: position)
        let restored = try ImageRestorer.restoredPixels(try ImageRestorer.decode(image, with: codec),
                                                        mode: ArchivedImageMode(record: image.record))
        return (image.record.displayName, restored, Double(image.record.psnr), image.record)
    }
}
