import Foundation
import NacreArchive
import NacreCatalog
import NacreCodec
import NacreImage
import NacreStore

/// One `restore`, run on a ``DecodeWorkers`` thread: confine the destination, read the image's
/// one frame from its archive, decode it with the archive's own decoder, write the PNG in the
/// original mode, and describe the result.
struct RestoreJob: Sendable {
    var image: NacreCatalog.ImageRecord
    var archive: ArchiveRecord
    /// The requested destination (absolute), or nil for the default.
    var destination: String?
    var overwrite: Bool
    /// Favour PNG write speed over file size (zlib's fastest level): deflate is the largest
    /// single cost of restoring a big image.
    var fastPNG: Bool
    var restoreRoots: [String]

    func run(_ context: DecodeWorkers.Context) throws(ControlError) -> JSONValue {
        let started = ContinuousClock.now
        let target = try RestoreDestination.resolve(requested: destination, imageName: image.displayName,
                                                    roots: restoreRoots, overwrite: overwrite)
        let (reader, frame) = try readFrame()
        let codec: CodecModel
        do {
            codec = try context.decoders.decoder(for: archive.modelID) { try reader.readModel() }
        } catch let error as ArchiveError {
            throw ControlError.damaged("the decoder stored in archive \(archive.id) cannot be read", error)
        } catch {
            throw ControlError(.internal, "cannot load the decoder of archive \(archive.id): \(error)")
        }
        let png: [UInt8]
        do {
            png = fastPNG
                ? try PNGWriter.encode(try ImageRestorer.decode(frame, with: codec), layout: ArchivedImageMode(record: frame.record).layout, fast: true)
                : try ImageRestorer.png(frame, with: codec)
        } catch let error as StoreError {
            throw ControlError.damaged("image '\(image.displayName)' in archive \(archive.id) cannot be decoded", error)
        } catch let error as CodecError {
            throw ControlError.damaged("image '\(image.displayName)' in archive \(archive.id) cannot be decoded", error)
        } catch let error as ImageError {
            throw ControlError.damaged("image '\(image.displayName)' in archive \(archive.id) cannot be decoded", error)
        } catch {
            throw ControlError(.internal, "decoding '\(image.displayName)' failed: \(error)")
        }
        try target.write(png, overwrite: overwrite)
        let elapsed = ContinuousClock.now - started
        return [
            "path": .string(target.path),
            "bytes": .int(Int64(png.count)),
            "psnr_db": CollectionJSON.number(image.psnr, digits: 3),
            "ms_ssim": CollectionJSON.number(image.msSSIM, digits: 5),
            "image": .string(image.displayName),
            "id": image.id.map { .int($0) } ?? .null,
            "archive": .string(archive.id),
            "width": CollectionJSON.int(image.width), "height": CollectionJSON.int(image.height),
            "mode": .string(CollectionJSON.mode(colourType: image.colourType, channels: image.channels, bitDepth: image.bitDepth)),
            "elapsed_ms": CollectionJSON.number(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15, digits: 1),
        ]
    }

    /// Opens the archive (trailer and index) and reads the image's one frame, checking that it
    /// is the image the catalog describes.
    private func readFrame() throws(ControlError) -> (ArchiveReader, ArchiveImage) {
        guard FileManager.default.fileExists(atPath: archive.path) else {
            throw ControlError(.damaged, "archive file \(archive.path) (archive \(archive.id)) is missing; restore it from a backup, or run `nacre reindex` if it was moved")
        }
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader.open(path: archive.path)
        } catch {
            throw ControlError.damaged("archive \(archive.id) cannot be opened", error)
        }
        let offset = UInt64(clamping: image.frameOffset)
        guard let position = reader.images.firstIndex(where: { $0.frame.offset == offset })
                ?? reader.position(ofImageNamed: Array(image.nameBytes)) else {
            throw ControlError(.damaged, "archive \(archive.id) does not list image '\(image.displayName)'; the catalog is stale: run `nacre reindex`")
        }
        let frame: ArchiveImage
        do {
            frame = try reader.readImage(at: position)
        } catch {
            throw ControlError.damaged("the frame of '\(image.displayName)' in archive \(archive.id) cannot be read", error)
        }
        guard frame.record.name == Array(image.nameBytes), frame.record.originalSHA256.hex == image.originalSHA256 else {
            throw ControlError(.damaged, "archive \(archive.id) holds a different '\(image.displayName)' than the catalog records (name or SHA-256 differ); run `nacre reindex`")
        }
        return (reader, frame)
    }
}
