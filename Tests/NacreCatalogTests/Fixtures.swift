import Foundation
import Logging
@testable import NacreCatalog

/// A catalog in a fresh temporary folder, removed afterwards.
func withTemporaryCatalog<T>(options: Catalog.Options = Catalog.Options(),
                             _ body: (Catalog, _ path: String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { folder in
        let path = folder + "/catalog.sqlite"
        let catalog = try Catalog(path: path, options: options)
        return try await body(catalog, path)
    }
}

func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("nacre-catalog-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    return try await body(folder)
}

enum Fixture {
    /// A fixed instant with whole milliseconds, so dates survive the catalog's ms precision.
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

    /// A valid 64-digit lower-case hex id that differs per `n`.
    static func hex(_ n: Int) -> String {
        let tail = String(n, radix: 16)
        return String(repeating: "0", count: 64 - tail.count) + tail
    }

    static func model(_ n: Int, role: ModelRole = .retired, parent: String? = nil) -> ModelRecord {
        ModelRecord(id: hex(n), parentID: parent, createdAt: t0.addingTimeInterval(Double(n)), dataSize: 100 * n,
                    steps: 1000 * n, wallSeconds: 60, role: role, filePath: "/var/lib/nacre/models/\(n).nacremodel")
    }

    static func archive(_ id: String, model: Int = 1, bytes: Int64 = 100_000, state: ArchiveState = .verified,
                        createdAt: Date = t0) -> ArchiveRecord {
        ArchiveRecord(id: id, path: "/var/lib/nacre/archives/\(id).nacre", bytes: bytes, modelID: hex(model),
                      createdAt: createdAt, sealedAt: createdAt.addingTimeInterval(1),
                      verifiedAt: state == .open ? nil : createdAt.addingTimeInterval(2), state: state)
    }

    static func image(_ name: String, archive: String = "", width: Int = 64, height: Int = 32,
                      originalBytes: Int64 = 6000, latentBytes: Int64 = 256, psnr: Double = 32,
                      msSSIM: Double = 0.97, encodedAt: Date = t0, frame: Int64 = 0) -> ImageRecord {
        ImageRecord(archiveID: archive, nameBytes: Data(name.utf8), sourcePath: "/srv/inbox/\(name)", width: width,
                    height: height, channels: 3, colourType: 2, bitDepth: 8, quality: 4, originalBytes: originalBytes,
                    latentBytes: latentBytes, originalSHA256: hex(fnv1a(name)), psnr: psnr,
                    msSSIM: msSSIM, frameOffset: 1000 + frame * 500, frameLength: 400, encodedAt: encodedAt)
    }

    /// A deterministic 32-bit hash (Swift's hashValue changes per process).
    static func fnv1a(_ text: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return Int(hash)
    }

    static func ingest(_ name: String, spool: String = "inbox") -> IngestRecord {
        IngestRecord(spool: spool, originalPath: "/srv/\(spool)/\(name)", claimedPath: "/srv/processing/\(name)",
                     claimedAt: t0, size: 6000, mtime: t0.addingTimeInterval(-60))
    }
}

/// Runs `body` and returns the `CatalogError` it throws, or nil if it did not throw one.
func catalogError(_ body: () async throws -> Void) async -> CatalogError? {
    do {
        try await body()
        return nil
    } catch let error as CatalogError {
        return error
    } catch {
        return nil
    }
}
