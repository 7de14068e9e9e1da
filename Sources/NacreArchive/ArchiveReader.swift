/// Reads a `.nacre` archive.
///
/// Opening reads the trailer (last 48 bytes) and the index it points at; listing images touches
/// nothing else, and restoring one image reads its one frame (one positioned read). If the trailer
/// or index is missing or damaged, opening falls back to a linear scan of the frames, which
/// recovers every intact image. Damage stays local: a corrupt frame loses only its own image.
///
/// Instances are immutable and safe to share between tasks.
public final class ArchiveReader: Sendable {
    /// How an archive was opened.
    public enum OpenMethod: Hashable, Sendable {
        /// Through the trailer and index (the normal case).
        case index
        /// By walking every frame, because the trailer or index was missing or damaged.
        case linearScan
    }

    /// The archive's path, or nil for an in-memory archive.
    public let path: String?
    /// Total size of the archive in bytes.
    public let fileSize: UInt64
    /// How the archive was opened.
    public let openedVia: OpenMethod
    /// Why the index could not be used, and damaged stretches the scan skipped (empty for an intact archive).
    public let openProblems: [ArchiveError]
    /// Every image, in file order, as listed by the index (or rebuilt by the scan).
    public let images: [ImageListing]
    /// Every frame before the index, in file order.
    public let frames: [FrameLocation]

    private let source: any ByteSource
    private let scannedManifest: ArchiveManifest?
    private let scannedManifestProblem: ArchiveError?
    private let positionsByName: [[UInt8]: Int]

    private init(path: String?, source: any ByteSource, openedVia: OpenMethod, problems: [ArchiveError],
                 frames: [FrameLocation], images: [ImageListing], manifest: ArchiveManifest?, manifestProblem: ArchiveError? = nil) {
        self.path = path
        self.source = source
        self.fileSize = source.size
        self.openedVia = openedVia
        self.openProblems = problems.map { $0.at(path: path) }
        self.frames = frames
        self.images = images
        self.scannedManifest = manifest
        self.scannedManifestProblem = manifestProblem?.at(path: path)
        var positions: [[UInt8]: Int] = [:]
        for (position, image) in images.enumerated() where positions[image.name] == nil { positions[image.name] = position }
        self.positionsByName = positions
    }

    /// Opens the archive file at `path`.
    public static func open(path: String) throws(ArchiveError) -> ArchiveReader {
        do throws(ArchiveError) {
            return try open(source: FileByteSource(path: path), path: path)
        } catch {
            throw error.at(path: path)
        }
    }

    /// Reads an archive held in memory (tests, fuzzing, archives received over the network).
    public static func parse(bytes: [UInt8]) throws(ArchiveError) -> ArchiveReader {
        try open(source: MemoryByteSource(bytes: bytes), path: nil)
    }

    private static func open(source: any ByteSource, path: String?) throws(ArchiveError) -> ArchiveReader {
        var problems: [ArchiveError] = []
        do throws(ArchiveError) {
            let index = try readIndex(source)
            return ArchiveReader(path: path, source: source, openedVia: .index, problems: [],
                                 frames: index.frames, images: index.images, manifest: nil)
        } catch {
            if error.code == .unsupportedVersion { throw error.at(path: path) }
            problems.append(error)
        }
        let scan = try FrameScanner.scan(source)
        let foundContent = scan.frames.contains { $0.kind == .model || $0.kind == .image }
        guard scan.manifest != nil || foundContent else {
            throw ArchiveError(code: .notAnArchive, message: "The file has no Nacre manifest, trailer or readable Nacre frame. Check that this is a .nacre archive; if it is, it is damaged beyond recovery.", path: path)
        }
        if scan.manifest == nil {
            problems.append(ArchiveError(code: .corruptFrame, message: "The manifest (first frame) is missing or damaged; model id and codec settings are lost, images are still readable. Restore the archive from a backup if you need the manifest.", offset: 0))
        }
        problems += scan.damage.map(\.problem)
        return ArchiveReader(path: path, source: source, openedVia: .linearScan, problems: problems,
                             frames: scan.frames, images: scan.images, manifest: scan.manifest, manifestProblem: scan.manifestProblem)
    }

    /// Reads the trailer and the index; throws if either is unusable.
    private static func readIndex(_ source: any ByteSource) throws(ArchiveError) -> ArchiveIndex {
        let trailerSize = UInt64(ArchiveFormat.trailerFrameSize)
        guard source.size >= trailerSize else { throw .truncated("The archive (shorter than a trailer)") }
        let trailerOffset = source.size - trailerSize
        let trailer = try ArchiveTrailer.decode(frame: try source.read(at: trailerOffset, count: Int(trailerSize)))
        guard trailer.indexLength >= 8, trailer.indexOffset <= trailerOffset,
              trailer.indexLength <= trailerOffset - trailer.indexOffset
        else {
            throw ArchiveError(code: .indexOutOfBounds, message: "The trailer points at an index at bytes \(trailer.indexOffset)+\(trailer.indexLength), outside the archive's \(source.size) bytes; the trailer is damaged. The reader falls back to scanning the frames; run `nacre verify`.", offset: trailerOffset)
        }
        let frame = try source.read(at: trailer.indexOffset, count: Int(trailer.indexLength))
        guard CRC32C.checksum(frame) == trailer.indexChecksum else { throw ArchiveError.checksum("The index").at(offset: trailer.indexOffset) }
        guard FrameScanner.littleEndianU32(frame[...], at: 0) == ArchiveFormat.indexFrameMagic,
              UInt64(FrameScanner.littleEndianU32(frame[...], at: 4)) + 8 == trailer.indexLength
        else { throw ArchiveError.corrupt("The index frame header is wrong").at(offset: trailer.indexOffset) }
        let table = try ZstdFrame.decompress(Array(frame[8...]))
        return try ArchiveIndex.decode(table: table, limit: trailer.indexOffset)
    }

    /// What the reader has read from the archive so far (reads and bytes).
    public var readStatistics: ReadStatistics { source.statistics }

    /// The manifest. Read on demand (it is not needed to list or locate images).
    public func readManifest() throws(ArchiveError) -> ArchiveManifest {
        if let scannedManifest { return scannedManifest }
        if let scannedManifestProblem { throw scannedManifestProblem }
        guard let location = frames.first(where: { $0.kind == .manifest }) else {
            throw ArchiveError(code: .corruptFrame, message: "The archive has no readable manifest; model id and codec settings are lost. Restore the archive from a backup.", path: path)
        }
        let frame = try readChecked(location)
        guard frame.count >= 8, FrameScanner.littleEndianU32(frame[...], at: 0) == ArchiveFormat.manifestFrameMagic,
              UInt64(FrameScanner.littleEndianU32(frame[...], at: 4)) + 8 == location.length else {
            throw ArchiveError.corrupt("The manifest frame has the wrong magic or size").at(offset: location.offset).at(path: path)
        }
        do throws(ArchiveError) {
            return try ArchiveManifest.decode(payload: Array(frame[8...]))
        } catch {
            throw error.at(offset: location.offset).at(path: path)
        }
    }

    /// The model blob (decoder, entropy tables, optional denoiser) exactly as given to the writer.
    public func readModel() throws(ArchiveError) -> [UInt8] {
        guard let location = frames.first(where: { $0.kind == .model }) else {
            throw ArchiveError(code: .corruptFrame, message: "The archive has no readable model frame, so its images cannot be decoded. Restore the archive from a backup.", path: path)
        }
        return Array(try content(of: location).dropFirst())
    }

    /// The image at `position` in `images`: record, bitstreams, alpha. Reads one frame.
    public func readImage(at position: Int) throws(ArchiveError) -> ArchiveImage {
        guard images.indices.contains(position) else {
            throw ArchiveError(code: .notFound, message: "There is no image number \(position); the archive lists \(images.count) images. Use `nacre ls` to see them.", path: path)
        }
        let listing = images[position]
        let image: ArchiveImage
        do throws(ArchiveError) {
            image = try ArchiveImage.decode(content: try content(of: listing.frame))
        } catch {
            throw error.at(offset: listing.frame.offset).at(path: path)
        }
        guard image.record.name == listing.name else {
            throw ArchiveError(code: .corruptFrame, message: "The frame the index lists for \"\(listing.displayName)\" holds \"\(image.record.displayName)\"; the index is damaged. Run `nacre verify`.", path: path, offset: listing.frame.offset)
        }
        return image
    }

    /// The first image named `name` (raw bytes, as stored).
    public func readImage(named name: [UInt8]) throws(ArchiveError) -> ArchiveImage {
        guard let position = position(ofImageNamed: name) else {
            throw ArchiveError(code: .notFound, message: "No image named \"\(String(decoding: name, as: UTF8.self))\" is in the archive. Use `nacre ls` to see the names.", path: path)
        }
        return try readImage(at: position)
    }

    /// The first image named `name` (UTF-8).
    public func readImage(named name: String) throws(ArchiveError) -> ArchiveImage {
        try readImage(named: Array(name.utf8))
    }

    /// The position in `images` of the first image named `name`.
    public func position(ofImageNamed name: [UInt8]) -> Int? { positionsByName[name] }

    /// Checks every frame (CRC-32C, zstd checksum, structure) and reports what is damaged.
    /// Reads the whole archive; never throws: problems are in the report.
    public func verify() -> VerifyReport {
        var checks: [VerifyReport.FrameCheck] = []
        var imagePosition = 0
        for location in frames {
            var check = VerifyReport.FrameCheck(frame: location)
            if location.kind == .image {
                check.imageIndex = imagePosition
                check.imageName = images[imagePosition].name
                imagePosition += 1
            }
            do throws(ArchiveError) {
                switch location.kind {
                case .manifest: _ = try readManifest()
                case .image: _ = try readImage(at: check.imageIndex!)
                case .model: _ = try readModel()
                default: _ = try readChecked(location)
                }
            } catch {
                check.problem = error.at(offset: location.offset).at(path: path)
            }
            checks.append(check)
        }
        var problems = openProblems
        if openedVia == .index && frames.first?.kind != .manifest {
            problems.append(ArchiveError(code: .corruptFrame, message: "The index lists no manifest frame; the index is damaged. Run `nacre verify` on a backup copy.", path: path))
        }
        return VerifyReport(openedVia: openedVia, frames: checks, archiveProblems: problems)
    }

    /// A frame's stored bytes, checked against the CRC-32C recorded for it.
    private func readChecked(_ location: FrameLocation) throws(ArchiveError) -> [UInt8] {
        guard location.length <= UInt64(Int.max) else { throw ArchiveError.corrupt("A frame length is impossible") }
        let bytes = try source.read(at: location.offset, count: Int(location.length))
        guard CRC32C.checksum(bytes) == location.checksum else {
            throw ArchiveError.checksum("The \(location.kind) frame").at(offset: location.offset).at(path: path)
        }
        return bytes
    }

    /// A zstd frame's decompressed content, checked against both checksums and its kind byte.
    private func content(of location: FrameLocation) throws(ArchiveError) -> [UInt8] {
        let content = try ZstdFrame.decompress(try readChecked(location))
        guard content.first == location.kind.rawValue else {
            throw ArchiveError.corrupt("The \(location.kind) frame holds a different kind of content").at(offset: location.offset).at(path: path)
        }
        return content
    }
}
