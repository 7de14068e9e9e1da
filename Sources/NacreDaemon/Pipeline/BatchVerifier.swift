import Dispatch
import Foundation
import NacreArchive
import NacreCatalog
import NacreCodec
import NacreImage
import NacreStore
import Synchronization

/// Checks a sealed batch archive against the originals still in the processing folder, before
/// anything is indexed or deleted: the archive re-opens cleanly, carries the expected decoder,
/// holds exactly the batch's images, each original is byte-identical to what was encoded
/// (SHA-256), and each image decodes to the PSNR recorded at encode (within the tolerance) or,
/// with `verify.decode: latents`, to exactly the latents that PSNR was measured on (see
/// ``DaemonConfig/VerifyDecode``).
///
/// Runs on the ``CodecWorker``'s queue (it decodes every image).
enum BatchVerifier {
    /// One image the batch should hold.
    struct Expected: Sendable {
        var name: [UInt8]
        /// Where the original waits (processing folder).
        var claimedPath: String
        /// The inbox path, recorded as the image's source path.
        var sourcePath: String
        /// The ``LatentDigest`` measured at encode, when this process encoded it.
        var latentDigest: SHA256Digest?
    }

    /// A verified archive, ready to index.
    struct Verified: Sendable {
        var archive: ArchiveRecord
        var images: [NacreCatalog.ImageRecord]
    }

    /// Verifies the archive at `path`; throws ``PipelineError`` `.verification` naming every
    /// problem found.
    /// Throws ``PipelineError`` `.stopped` between images once `stop` is raised (the archive
    /// stays `sealed` and is verified at the next start).
    static func verify(archiveID: String, path: String, expected: [Expected], toleranceDB: Double,
                       decode: DaemonConfig.VerifyDecode, context: CodecContext, stop: StopFlag) throws -> Verified {
        let reader: ArchiveReader
        let manifest: ArchiveManifest
        let model: [UInt8]
        do {
            reader = try ArchiveReader.open(path: path)
            manifest = try reader.readManifest()
            model = try reader.readModel()
        } catch {
            throw PipelineError(.verification, "archive \(path) does not re-open: \(error)")
        }
        var problems = reader.openProblems.map { "\($0)" }
        guard SHA256.hash(model) == manifest.modelSHA256 else {
            throw PipelineError(.verification, "archive \(path): the model frame does not match the manifest's SHA-256")
        }
        // The archive's own decoder; the loaded one when it is the same bytes (it always is for
        // batches this daemon wrote with its current model).
        let codec: CodecModel
        if manifest.modelSHA256 == context.modelDigest {
            codec = context.codec
        } else {
            do { codec = try ImageRestorer.models(fromModelFrame: model, engine: context.engine, includingDenoiser: false).codec } catch {
                throw PipelineError(.verification, "archive \(path): its decoder does not load: \(error)")
            }
        }
        let createdAt = Date(timeIntervalSince1970: Double(manifest.creationTime) / 1_000_000)
        let byName = Dictionary(expected.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let stored = Set(reader.images.map(\.name))
        for item in expected where !stored.contains(item.name) {
            problems.append("\(String(decoding: item.name, as: UTF8.self)) is missing from the archive")
        }
        // Reading, hashing and entropy decoding run on all cores (the reader uses pread; the
        // entropy decoder is integer code without shared state); pixel decodes use the engine,
        // one at a time, after.
        let checks = Mutex([ImageCheck](repeating: .problem("not checked"), count: reader.images.count))
        // Latent digests were measured with the loaded model only.
        let sharedCodec = Unchecked(codec), digestsApply = codec === context.codec
        DispatchQueue.concurrentPerform(iterations: reader.images.count) { position in
            guard !stop.isRaised else { return }
            let check = firstCheck(position: position, reader: reader, byName: byName, codec: sharedCodec.value,
                                   digestsApply: digestsApply, decode: decode, archiveID: archiveID, createdAt: createdAt)
            checks.withLock { $0[position] = check }
        }
        if stop.isRaised { throw PipelineError(.stopped, "stopping; archive \(archiveID) is verified at the next start") }
        var images: [NacreCatalog.ImageRecord] = []
        for (position, check) in checks.withLock({ $0 }).enumerated() {
            switch check {
            case .problem(let problem):
                problems.append(problem)
            case .verified(let row):
                images.append(row)
            case .needsPixels(let image, let original, let row):
                if stop.isRaised { throw PipelineError(.stopped, "stopping; archive \(archiveID) is verified at the next start") }
                let name = reader.images[position].displayName
                do {
                    let reference = try PNGReader.decode(original).pixels
                    let restored = try ImageRestorer.restoredPixels(try ImageRestorer.decode(image, with: codec),
                                                                    mode: ArchivedImageMode(record: image.record))
                    let psnr = try PSNR(reference: reference, distorted: restored).decibels
                    let recorded = Double(image.record.psnr)
                    guard psnr == recorded || abs(psnr - recorded) <= toleranceDB else {
                        problems.append(String(format: "%@: decodes to %.4f dB, %.4f dB was recorded at encode (tolerance %.4f dB)",
                                               name, psnr, recorded, toleranceDB))
                        continue
                    }
                    images.append(row)
                } catch {
                    problems.append("\(name): \(error)")
                }
            }
        }
        guard problems.isEmpty else {
            throw PipelineError(.verification, "archive \(path) failed verification: " + problems.joined(separator: "; "))
        }
        let archive = ArchiveRecord(id: archiveID, path: path, bytes: Int64(clamping: reader.fileSize),
                                    modelID: ArchiveIndexer.catalogModelID(manifest).id, createdAt: createdAt,
                                    verifiedAt: Date(), state: .verified)
        return Verified(archive: archive, images: images)
    }

    /// One image after the checks that run in parallel.
    private enum ImageCheck: @unchecked Sendable {
        case problem(String)
        /// Verified; the row to index.
        case verified(NacreCatalog.ImageRecord)
        /// Still to be decoded to pixels and compared with the original's PSNR.
        case needsPixels(ArchiveImage, original: [UInt8], row: NacreCatalog.ImageRecord)
    }

    /// Membership, the original's SHA-256 and, where chosen, the latent digest of one image.
    private static func firstCheck(position: Int, reader: ArchiveReader, byName: [[UInt8]: Expected], codec: CodecModel,
                                   digestsApply: Bool, decode: DaemonConfig.VerifyDecode, archiveID: String,
                                   createdAt: Date) -> ImageCheck {
        let listing = reader.images[position]
        let name = listing.displayName
        guard let item = byName[listing.name] else { return .problem("\(name) is in the archive but not in the batch") }
        do {
            let image = try reader.readImage(at: position)
            let original = try ProcessingFolder.read(item.claimedPath, limit: Int.max)
            guard SHA256.hash(original) == image.record.originalSHA256 else {
                return .problem("\(name): the original in \(item.claimedPath) is not the file that was encoded (SHA-256 differs)")
            }
            var row = ArchiveIndexer.catalogImage(image, frame: listing.frame, archiveID: archiveID, encodedAt: createdAt)
            row.sourcePath = item.sourcePath
            guard let encodedDigest = item.latentDigest, digestsApply, !decode.decodesPixels(at: position) else {
                return .needsPixels(image, original: original, row: row)
            }
            guard try ImageRestorer.latentDigest(image, with: codec) == encodedDigest else {
                return .problem("\(name): its bitstream decodes to other latents than the PSNR was measured on at encode")
            }
            return .verified(row)
        } catch {
            return .problem("\(name): \(error)")
        }
    }
}
