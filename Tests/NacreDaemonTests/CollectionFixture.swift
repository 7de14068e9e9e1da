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
@testable import NacreDaemon

/// A real collection for the collection-command tests: small crops of a real photo in three
/// modes (RGB, 8-bit gray, RGBA), packed with the built-in base model into two real archives,
/// indexed into a real catalog. Crops are at least 161 px a side: below that MS-SSIM is NaN,
/// which the catalog's NOT NULL `ms_ssim` column refuses (a known catalog bug, see the report). Built once (encoding is the slow part) and shared read-only.
struct CollectionFixture: Sendable {
    let folder: TemporaryFolder
    let catalogPath: String
    let archiveDir: String
    /// Original PNG bytes by archive id and image name.
    let originals: [String: [String: [UInt8]]]
    let archivePaths: [String: String]

    static let first = "batch-0001"
    static let second = "batch-0002"

    /// The shared fixture (built on first use).
    static let shared = Task { try await CollectionFixture.make() }

    /// A photo crop as PNG in `layout`; alpha (for RGBA) is a gradient.
    static func crop(_ photo: PixelBuffer, x: Int, y: Int, width: Int, height: Int, layout: PNGLayout) throws -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for row in 0..<height {
            let source = ((y + row) * photo.width + x) * 3
            rgb.replaceSubrange(row * width * 3..<(row + 1) * width * 3, with: photo.rgb[source..<source + width * 3])
        }
        let alpha: [UInt8]? = layout.channels.hasAlpha ? (0..<width * height).map { UInt8(($0 % width) * 255 / max(1, width - 1)) } : nil
        return try PNGWriter.encode(try PixelBuffer(width: width, height: height, rgb: rgb, alpha: alpha), layout: layout)
    }

    static func make() async throws -> CollectionFixture {
        let folder = TemporaryFolder()
        chmod(folder.path, 0o755)  // the refused-uid test's client must reach the socket
        let archiveDir = folder.makeFolder("archives")
        let photo = try PNGReader.read(contentsOfFile: "/work/shared/data/photos/001.png").pixels
        let engine = try Engine(threads: 1)
        let codec = try BaseModel.load(engine: engine)
        let packer = try ImagePacker(codec: codec, rate: .quality(50))
        let batches: [(String, [(String, [UInt8])])] = [
            (first, [("cat.png", try crop(photo, x: 400, y: 300, width: 192, height: 168, layout: PNGLayout(channels: .rgb))),
                     ("sub/gray.png", try crop(photo, x: 700, y: 200, width: 168, height: 168, layout: PNGLayout(channels: .gray)))]),
            (second, [("alpha.png", try crop(photo, x: 100, y: 500, width: 176, height: 168, layout: PNGLayout(channels: .rgba))),
                      ("cat.png", try crop(photo, x: 900, y: 600, width: 168, height: 168, layout: PNGLayout(channels: .rgb)))]),
        ]
        let decoder = codec.decoderBytes()
        let digest = SHA256.hash(decoder)
        var originals: [String: [String: [UInt8]]] = [:]
        var paths: [String: String] = [:]
        for (index, (id, images)) in batches.enumerated() {
            let path = "\(archiveDir)/\(id).nacre"
            // The second batch is a minute newer, so newest-first order is well defined.
            let manifest = ArchiveManifest(creationTime: ArchiveManifest.currentTime() - Int64(batches.count - index) * 60_000_000,
                                           writerVersion: "nacre tests", modelID: digest.hex, modelSHA256: digest, codecSettings: [:])
            let writer = try ArchiveWriter(path: path, manifest: manifest, model: decoder)
            for (name, png) in images {
                _ = try writer.append(try packer.pack(pngBytes: png, name: Array(name.utf8)).image)
                originals[id, default: [:]][name] = png
            }
            _ = try writer.seal()
            paths[id] = path
        }
        let catalogPath = folder.sub("catalog.sqlite")
        try await indexArchives(Array(paths.values), into: catalogPath)
        return CollectionFixture(folder: folder, catalogPath: catalogPath, archiveDir: archiveDir,
                                 originals: originals, archivePaths: paths)
    }

    /// Indexes `archives` into the catalog at `path` (created), as `nacre reindex` does.
    static func indexArchives(_ archives: [String], into path: String) async throws {
        let result = ArchiveIndexer.read(archives: archives.sorted())
        precondition(result.problems.isEmpty, "fixture archives have problems: \(result.problems)")
        let catalog = try Catalog(path: path, options: Catalog.Options(synchronous: .normal), logger: testLogger)
        try await catalog.rebuild(from: result.summaries)
        try catalog.close()
    }

    var imageCount: Int { originals.values.reduce(0) { $0 + $1.count } }
}

/// A running control server over the shared collection, in its own folder (socket, restore
/// root, an `outside` folder that restores must never reach).
struct CollectionServer: Sendable {
    let fixture: CollectionFixture
    let folder: TemporaryFolder
    let config: DaemonConfig
    let catalog: Catalog
    let commands: CollectionCommands
    let server: ControlServer

    init(fixture: CollectionFixture, socketMode: String = "0660", allowedUIDs: [UInt32] = [], catalogPath: String? = nil) throws {
        self.fixture = fixture
        folder = TemporaryFolder()
        chmod(folder.path, 0o755)
        folder.makeFolder("restore")
        folder.makeFolder("outside")
        let uids = allowedUIDs.isEmpty ? "" : "  allowed_uids: [\(allowedUIDs.map(String.init).joined(separator: ", "))]\n"
        config = try testConfig(in: folder, yaml: testConfigYAML(socketMode: socketMode, extraTop: "") .replacingOccurrences(of: "socket:\n", with: "socket:\n" + uids))
        catalog = try Catalog(path: catalogPath ?? fixture.catalogPath, logger: testLogger)
        commands = CollectionCommands(catalog: catalog, config: config, logger: testLogger)
        let state = DaemonState(config: config, version: "test")
        server = try ControlServer(socket: config.socket,
                                   handler: DaemonControlHandler(state: state, pipeline: CommandForwardingPipeline(commands: commands, label: "test")),
                                   logger: testLogger)
        try server.start()
    }

    var socketPath: String { config.socket.path }
    var restoreRoot: String { folder.sub("restore") }
    var outside: String { folder.sub("outside") }

    func stop() {
        server.stop()
        folder.remove()
    }

    /// One request on a fresh connection (off the cooperative pool); the whole reply.
    func send(_ command: ControlCommand, _ args: [String: JSONValue] = [:]) async throws -> JSONValue {
        let path = socketPath
        return try await offPool { () -> Result<JSONValue, DaemonError> in
            do throws(DaemonError) {
                return .success(try ControlClient(path: path, timeout: 60).send(ControlRequest(command: command, args: args)))
            } catch {
                return .failure(error)
            }
        }.get()
    }

    /// The `result` of a request that must succeed.
    func result(_ command: ControlCommand, _ args: [String: JSONValue] = [:]) async throws -> JSONValue {
        let reply = try await send(command, args)
        guard reply["ok"] == true, let result = reply["result"] else {
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "\(command) failed: \(reply)"])
        }
        return result
    }

    /// The error code of a request that must fail.
    func errorCode(_ command: ControlCommand, _ args: [String: JSONValue] = [:]) async throws -> String? {
        let reply = try await send(command, args)
        return reply["ok"] == false ? reply["error"]?["code"]?.stringValue : nil
    }
}
