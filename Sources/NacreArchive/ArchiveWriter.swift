#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a new `.nacre` archive, streaming images in as they are encoded.
///
/// The archive is written to a hidden temporary file `.NAME.tmp-XXXXXXXX` next to the destination.
/// `seal()` appends the index and trailer, fsyncs the file, gives it its final name (never replacing
/// an existing file) and fsyncs the folder. `abort()`, or dropping an unsealed writer, deletes the
/// temporary file, so an interrupted write leaves nothing behind but (after a crash) that hidden file.
public final class ArchiveWriter {
    /// Compression settings.
    public struct Options: Sendable {
        /// zstd level of image frames (latents are already entropy-coded; the level matters little).
        public var imageCompressionLevel: Int32
        /// zstd level of the model frame, written once per archive.
        public var modelCompressionLevel: Int32
        /// zstd level of the index, written once at sealing.
        public var indexCompressionLevel: Int32

        public init(imageCompressionLevel: Int32 = 3, modelCompressionLevel: Int32 = 19, indexCompressionLevel: Int32 = 19) {
            self.imageCompressionLevel = imageCompressionLevel
            self.modelCompressionLevel = modelCompressionLevel
            self.indexCompressionLevel = indexCompressionLevel
        }
    }

    /// What `seal()` produced.
    public struct SealedArchive: Hashable, Sendable {
        public var path: String
        public var fileSize: UInt64
        public var imageCount: Int
        /// Stored bytes of the model frame.
        public var modelFrameBytes: UInt64
        /// Stored bytes of the index frame plus the trailer.
        public var indexAndTrailerBytes: UInt64
    }

    /// The final path of the archive.
    public let path: String
    /// The hidden temporary file written until sealing.
    public let temporaryPath: String

    private let options: Options
    private let compressor: ZstdCompressor
    private var descriptor: Int32
    private var position: UInt64 = 0
    private var frames: [FrameLocation] = []
    private var images: [ImageListing] = []
    private var names: Set<[UInt8]> = []
    private var state = State.open
    private var modelFrameBytes: UInt64 = 0

    private enum State { case open, failed, sealed, aborted }

    /// Starts an archive at `path` and writes its manifest and model frames.
    /// Throws `alreadyExists` if `path` exists: sealed archives are never modified.
    public init(path: String, manifest: ArchiveManifest, model: [UInt8], options: Options = Options()) throws(ArchiveError) {
        guard !POSIXFile.exists(path) else { throw POSIXFile.alreadyExists(path) }
        guard manifest.majorVersion == ArchiveFormat.majorVersion, manifest.minorVersion == ArchiveFormat.minorVersion,
              manifest.requiredFeatures == 0 else {
            throw ArchiveError(code: .invalidArgument, message: "This writer writes format \(ArchiveFormat.majorVersion).\(ArchiveFormat.minorVersion) only; build the manifest with `ArchiveManifest.init`.", path: path)
        }
        let (directory, file) = ArchiveWriter.split(path)
        guard !file.isEmpty else {
            throw ArchiveError(code: .invalidArgument, message: "The archive path has no file name. Pass a path like `out/photos.nacre`.", path: path)
        }
        var generator = SystemRandomNumberGenerator()
        var opened: (Int32, String)?
        for _ in 0..<16 {
            let suffix = String(generator.next() as UInt32, radix: 16)
            let candidate = (directory.isEmpty ? "" : directory + "/") + "." + file + ".tmp-" + suffix
            let descriptor = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor >= 0 { opened = (descriptor, candidate); break }
            if errno != EEXIST { throw POSIXFile.failure("create the temporary archive file", path: candidate) }
        }
        guard let (descriptor, temporaryPath) = opened else {
            throw ArchiveError(code: .ioFailure, message: "Could not find a free temporary name next to the archive. Remove stale `.\(file).tmp-*` files.", path: path)
        }
        self.path = path
        self.temporaryPath = temporaryPath
        self.descriptor = descriptor
        self.options = options
        do throws(ArchiveError) {
            self.compressor = try ZstdCompressor()
            try append(frame: try ArchiveFormat.skippableFrame(magic: ArchiveFormat.manifestFrameMagic, payload: manifest.encodedPayload()),
                       kind: .manifest)
            let modelFrame = try compressor.frame([FrameKind.model.rawValue] + model, level: options.modelCompressionLevel)
            modelFrameBytes = UInt64(modelFrame.count)
            try append(frame: modelFrame, kind: .model)
        } catch {
            close(descriptor)
            unlink(temporaryPath)
            throw error
        }
    }

    deinit { abort() }

    /// Appends one image. Names must be unique within the archive.
    /// Returns where the image's frame lies in the archive.
    @discardableResult
    public func append(_ image: ArchiveImage) throws(ArchiveError) -> FrameLocation {
        try checkOpen()
        guard image.record.name.count <= ImageRecord.maximumNameLength else {
            throw ArchiveError(code: .invalidArgument, message: "An image name is \(image.record.name.count) bytes long; the format stores names up to \(ImageRecord.maximumNameLength) bytes. Shorten it.", path: path)
        }
        guard !names.contains(image.record.name) else {
            throw ArchiveError(code: .invalidArgument, message: "The archive already holds an image named \"\(image.record.displayName)\"; names must be unique. Store it under a distinct name (e.g. its relative path).", path: path)
        }
        let frame = try compressor.frame(image.encodedContent(), level: options.imageCompressionLevel)
        let location = try append(frame: frame, kind: .image)
        names.insert(image.record.name)
        images.append(ImageListing(image: image, frame: location))
        return location
    }

    /// Number of images appended so far.
    public var imageCount: Int { images.count }

    /// Writes the index and trailer, makes the archive durable, and gives it its final name.
    public func seal() throws(ArchiveError) -> SealedArchive {
        try checkOpen()
        let table = ArchiveIndex(frames: frames, images: images).encodedTable()
        let indexFrame = try ArchiveFormat.skippableFrame(
            magic: ArchiveFormat.indexFrameMagic, payload: try compressor.frame(table, level: options.indexCompressionLevel))
        let indexOffset = position
        let trailer = ArchiveTrailer(indexOffset: indexOffset, indexLength: UInt64(indexFrame.count),
                                     indexChecksum: CRC32C.checksum(indexFrame))
        try write(indexFrame + trailer.encodedFrame())
        do throws(ArchiveError) {
            try POSIXFile.sync(descriptor, path: temporaryPath)
            let (directory, _) = ArchiveWriter.split(path)
            try POSIXFile.moveNoReplace(temporaryPath, to: path)
            state = .sealed
            close(descriptor)
            descriptor = -1
            try POSIXFile.syncDirectory(directory.isEmpty ? "." : directory)
        } catch {
            if state != .sealed { state = .failed }
            throw error
        }
        return SealedArchive(path: path, fileSize: position, imageCount: images.count, modelFrameBytes: modelFrameBytes,
                             indexAndTrailerBytes: position - indexOffset)
    }

    /// Abandons the archive: closes and deletes the temporary file. Does nothing once sealed.
    public func abort() {
        guard state == .open || state == .failed else { return }
        state = .aborted
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(temporaryPath)
    }

    private func checkOpen() throws(ArchiveError) {
        switch state {
        case .open: return
        case .failed:
            throw ArchiveError(code: .writerClosed, message: "An earlier write to this archive failed, so it cannot be completed. Call `abort()` and write the archive again.", path: path)
        case .sealed, .aborted:
            throw ArchiveError(code: .writerClosed, message: "The archive writer is already \(state == .sealed ? "sealed" : "aborted"). Start a new `ArchiveWriter` for more images.", path: path)
        }
    }

    @discardableResult
    private func append(frame: [UInt8], kind: FrameKind) throws(ArchiveError) -> FrameLocation {
        let location = FrameLocation(kind: kind, offset: position, length: UInt64(frame.count), checksum: CRC32C.checksum(frame))
        try write(frame)
        frames.append(location)
        return location
    }

    private func write(_ bytes: [UInt8]) throws(ArchiveError) {
        do throws(ArchiveError) {
            try POSIXFile.writeAll(descriptor, bytes, path: temporaryPath)
        } catch {
            state = .failed
            throw error
        }
        position += UInt64(bytes.count)
    }

    /// Folder and file name of a path ("" folder for a bare name).
    private static func split(_ path: String) -> (directory: String, file: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
