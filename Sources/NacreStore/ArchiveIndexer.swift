import Foundation
import NacreArchive
import NacreCatalog

/// Reads `.nacre` files into the catalog's archive and image rows: `nacre reindex`, and the
/// daemon when it indexes a sealed archive.
/// Damage is isolated: an unreadable image or archive is recorded as a problem and skipped.
public enum ArchiveIndexer {
    /// Something that was skipped or found damaged, and why.
    public struct Problem: Encodable, Hashable, Sendable {
        /// Path of the archive.
        public var archive: String
        /// The image's name, when one image was skipped; nil for a problem with the whole archive.
        public var image: String?
        /// True when the whole archive was left out of the catalog.
        public var archiveSkipped: Bool
        public var reason: String
    }

    /// What reading the archives gave.
    public struct Result: Sendable {
        public var summaries: [ArchiveSummary] = []
        public var problems: [Problem] = []
        /// Images whose record does not carry the original file size (v1.0 archives); stored as 0.
        public var unknownOriginalSizeCount = 0
        /// Archives whose manifest model id is not a catalog model id (64 lower-case hex digits);
        /// their rows use the SHA-256 of the model blob the archive carries instead.
        public var modelIDsFromHashCount = 0

        public init() {}
    }

    /// The catalog key of an archive's model: the manifest's model id when it is a SHA-256 in hex
    /// (the catalog's content address), else the SHA-256 of the model blob stored in the archive.
    public static func catalogModelID(_ manifest: ArchiveManifest) -> (id: String, fromHash: Bool) {
        let id = manifest.modelID
        let isHexDigest = id.utf8.count == 64 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        return isHexDigest ? (id, false) : (manifest.modelSHA256.hex, true)
    }

    /// Every regular `*.nacre` file under `roots` (recursively), sorted; symbolic links are neither
    /// followed nor read. A root may also be a `.nacre` file itself.
    public static func findArchives(under roots: [String]) throws(StoreError) -> [String] {
        var found: [String] = []
        for root in roots {
            let url = URL(fileURLWithPath: root).standardizedFileURL
            guard let kind = fileKind(url.path) else {
                throw StoreError(code: .notFound, message: "\(root): no such file or folder. Pass the folders that hold the .nacre archives; the catalog was not changed.")
            }
            if kind == .regular {
                guard url.pathExtension == "nacre" else {
                    throw StoreError(code: .notAFolder, message: "\(root) is not a folder or a .nacre file; the catalog was not changed.")
                }
                found.append(url.path)
                continue
            }
            guard kind == .directory else {
                throw StoreError(code: .notAFolder, message: "\(root) is not a folder (symbolic links are not followed); the catalog was not changed.")
            }
            // FileManager's enumerator does not descend into symbolic links to folders; links to
            // files are filtered out below with lstat.
            guard let walker = FileManager.default.enumerator(atPath: url.path) else {
                throw StoreError(code: .unreadable, message: "\(root): the folder cannot be read. Check its permissions; the catalog was not changed.")
            }
            while let relative = walker.nextObject() as? String {
                guard relative.hasSuffix(".nacre") else { continue }
                let path = url.path + "/" + relative
                if fileKind(path) == .regular { found.append(path) }
            }
        }
        return Array(Set(found)).sorted()
    }

    private enum FileKind { case regular, directory, other }

    /// The kind of the file itself (lstat: a symbolic link is `.other`), nil when it does not exist.
    private static func fileKind(_ path: String) -> FileKind? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Reads every archive; `progress` is called after each one with (done, total).
    public static func read(archives paths: [String], progress: (Int, Int) -> Void = { _, _ in }) -> Result {
        var result = Result()
        for (number, path) in paths.enumerated() {
            read(archive: path, into: &result)
            progress(number + 1, paths.count)
        }
        return result
    }

    /// Reads one archive into `result`: its row and every readable image, or a problem.
    public static func read(archive path: String, into result: inout Result) {
        let reader: ArchiveReader
        let manifest: ArchiveManifest
        do {
            reader = try ArchiveReader.open(path: path)
            // Without the manifest the archive's model is unknown, and rows need it.
            manifest = try reader.readManifest()
        } catch {
            result.problems.append(Problem(archive: path, image: nil, archiveSkipped: true, reason: "\(error)"))
            return
        }
        let createdAt = Date(timeIntervalSince1970: Double(manifest.creationTime) / 1_000_000)
        let model = catalogModelID(manifest)
        if model.fromHash { result.modelIDsFromHashCount += 1 }
        let fileName = URL(fileURLWithPath: path).lastPathComponent
        let archiveID = String(fileName.dropLast(".nacre".count))
        // Damage found while opening (unusable index or trailer, unreadable stretches): the scan
        // cannot name images it could not read, so this is reported for the archive.
        var damaged = !reader.openProblems.isEmpty
        for problem in reader.openProblems {
            result.problems.append(Problem(archive: path, image: nil, archiveSkipped: false, reason: "\(problem)"))
        }
        var images: [NacreCatalog.ImageRecord] = []
        for (position, listing) in reader.images.enumerated() {
            do {
                let image = try reader.readImage(at: position)
                if image.record.originalByteCount == nil { result.unknownOriginalSizeCount += 1 }
                images.append(catalogImage(image, frame: listing.frame, archiveID: archiveID, encodedAt: createdAt))
            } catch {
                damaged = true
                result.problems.append(Problem(archive: path, image: listing.displayName, archiveSkipped: false, reason: "\(error)"))
            }
        }
        let archive = ArchiveRecord(
            id: archiveID, path: path, fileName: fileName, bytes: Int64(clamping: reader.fileSize), modelID: model.id,
            createdAt: createdAt, state: damaged ? .damaged : .indexed)
        result.summaries.append(ArchiveSummary(archive: archive, images: images))
    }

    /// The catalog row of an image read from an archive.
    public static func catalogImage(_ image: ArchiveImage, frame: FrameLocation, archiveID: String, encodedAt: Date) -> NacreCatalog.ImageRecord {
        let record = image.record
        return NacreCatalog.ImageRecord(
            archiveID: archiveID, nameBytes: Data(record.name), width: Int(record.width), height: Int(record.height),
            channels: Int(record.channels), colourType: Int(record.colorType), bitDepth: Int(record.bitDepth),
            quality: Double(record.quality), originalBytes: Int64(clamping: record.originalByteCount ?? 0),
            latentBytes: Int64(image.latentByteCount), originalSHA256: record.originalSHA256.hex,
            psnr: Double(record.psnr), msSSIM: Double(record.msssim),
            frameOffset: Int64(clamping: frame.offset), frameLength: Int64(clamping: frame.length), encodedAt: encodedAt)
    }
}
