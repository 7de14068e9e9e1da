import Foundation
import NacreArchive
import NacreCatalog

/// The `verify` verdict on one archive: every frame re-read and checked (CRC-32C, zstd checksum,
/// structure) with ``ArchiveReader/verify()``. Runs on a ``DecodeWorkers`` thread.
struct ArchiveVerification: Sendable {
    var archiveID: String
    var path: String
    /// The file exists and opened (possibly by a linear scan).
    var readable: Bool
    var imageCount: Int
    var damagedImages: [String]
    var problems: [String]

    var isIntact: Bool { readable && damagedImages.isEmpty && problems.isEmpty }

    /// Re-reads `archive`'s file.
    static func check(_ archive: ArchiveRecord) -> ArchiveVerification {
        var verdict = ArchiveVerification(archiveID: archive.id, path: archive.path, readable: false, imageCount: 0,
                                          damagedImages: [], problems: [])
        guard FileManager.default.fileExists(atPath: archive.path) else {
            verdict.problems = ["the archive file is missing"]
            return verdict
        }
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader.open(path: archive.path)
        } catch {
            verdict.problems = [error.message]
            return verdict
        }
        let report = reader.verify()
        verdict.readable = true
        verdict.imageCount = reader.images.count
        verdict.damagedImages = report.damagedImageNames.map { String(decoding: $0, as: UTF8.self) }
        verdict.problems = report.archiveProblems.map(\.message)
            + report.damagedFrames.filter { $0.imageName == nil }.compactMap { $0.problem?.message }
        return verdict
    }

    var json: JSONValue {
        [
            "id": .string(archiveID),
            "path": .string(path),
            "ok": .bool(isIntact),
            "images": CollectionJSON.int(imageCount),
            "damaged_images": .array(damagedImages.map { .string($0) }),
            "problems": .array(problems.map { .string($0) }),
        ]
    }
}
