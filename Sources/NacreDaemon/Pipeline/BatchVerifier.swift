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
/// ``DaemonConfig/VerifyDecode``). An image the ``EarlyVerifier`` already checked that way
/// before the seal is not decoded again: its sealed frame's content must have the digest of the
/// content that was checked.
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
        /// The image's check before the seal, when it passed one.
        var early: EarlyVerifier.Outcome?
    }

    /// A verified archive, ready to index.
    struct Verified: Sendable {
        var archive: ArchiveRecord
        var images: [NacreCatalog.ImageRecord]
        /// How many images passed by their check before the seal (not decoded again).
        var checkedEarly: Int
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
        // Images checked by their latents run on all cores (the reader uses pread; the entropy
        // decoder is integer code without shared state); pixel checks use the engine, one at a
        // time, after. Nothing is held between the two passes, so a batch of large originals is
        // never all in memory.
        let checks = Mutex([ImageCheck](repeating: .problem("not checked"), count: reader.images.count))
        // Latent digests and early checks were made with the loaded model only.
        let sharedCodec = Unchecked(codec), digestsApply = codec === context.codec
        let checkedEarly = Mutex(0)
        let check: @Sendable (Int, Expected, Evidence) -> ImageCheck = { position, item, evidence in
            let result = checkImage(position: position, item: item, evidence: evidence, reader: reader, codec: sharedCodec.value,
                                    toleranceDB: toleranceDB, archiveID: archiveID, createdAt: createdAt)
            if case .checkedContent = evidence, case .verified = result { checkedEarly.withLock { $0 += 1 } }
            return result
        }
        DispatchQueue.concurrentPerform(iterations: reader.images.count) { position in
            guard !stop.isRaised else { return }
            let listing = reader.images[position]
            let result: ImageCheck
            if let item = byName[listing.name] {
                let needsPixels = decode.decodesPixels(at: position)
                if digestsApply, let early = item.early, early.pixelsStand(toleranceDB: toleranceDB) || !needsPixels {
                    result = check(position, item, .checkedContent(early.contentDigest))
                } else if let digest = item.latentDigest, digestsApply, !needsPixels {
                    result = check(position, item, .latents(digest))
                } else {
                    result = .needsPixels(item)
                }
            } else {
                result = .problem("\(listing.displayName) is in the archive but not in the batch")
            }
            checks.withLock { $0[position] = result }
        }
        var images: [NacreCatalog.ImageRecord] = []
        for (position, first) in checks.withLock({ $0 }).enumerated() {
            if stop.isRaised { throw PipelineError(.stopped, "stopping; archive \(archiveID) is verified at the next start") }
            var result = first
            if case .needsPixels(let item) = first { result = check(position, item, .pixels) }
            switch result {
            case .problem(let problem): problems.append(problem)
            case .verified(let row): images.append(row)
            case .needsPixels: problems.append("\(reader.images[position].displayName) was not checked")
            }
        }
        guard problems.isEmpty else {
            throw PipelineError(.verification, "archive \(path) failed verification: " + problems.joined(separator: "; "))
        }
        let archive = ArchiveRecord(id: archiveID, path: path, bytes: Int64(clamping: reader.fileSize),
                                    modelID: ArchiveIndexer.catalogModelID(manifest).id, createdAt: createdAt,
                                    verifiedAt: Date(), state: .verified)
        return Verified(archive: archive, images: images, checkedEarly: checkedEarly.withLock { $0 })
    }

    /// One image's outcome.
    private enum ImageCheck: Sendable {
        case problem(String)
        /// Verified; the row to index.
        case verified(NacreCatalog.ImageRecord)
        /// To be decoded to pixels on the engine (second pass).
        case needsPixels(Expected)
    }

    /// What an image is judged by, besides its original's SHA-256.
    private enum Evidence {
        /// Its sealed frame's content digest must be that of the content checked before the seal.
        case checkedContent(SHA256Digest)
        /// Its entropy-decoded latents must have the digest measured at encode.
        case latents(SHA256Digest)
        /// It is decoded, and its PSNR must be the one recorded at encode.
        case pixels
    }

    /// Reads one image and its original and checks the original's SHA-256, then the image by
    /// `evidence`.
    private static func checkImage(position: Int, item: Expected, evidence: Evidence, reader: ArchiveReader,
                                   codec: CodecModel, toleranceDB: Double, archiveID: String, createdAt: Date) -> ImageCheck {
        let listing = reader.images[position]
        let name = listing.displayName
        do {
            let image = try reader.readImage(at: position)
            let original = try ProcessingFolder.read(item.claimedPath, limit: Int.max)
            guard SHA256.hash(original) == image.record.originalSHA256 else {
                return .problem("\(name): the original in \(item.claimedPath) is not the file that was encoded (SHA-256 differs)")
            }
            let problem: String?
            switch evidence {
            case .checkedContent(let digest):
                problem = image.contentDigest == digest ? nil : "its sealed frame differs from the one checked before the seal"
            case .latents(let digest):
                problem = try latentProblem(image, codec: codec, latentDigest: digest)
            case .pixels:
                problem = try pixelProblem(image, reference: try PNGReader.decode(original).pixels, codec: codec,
                                           toleranceDB: toleranceDB)
            }
            if let problem { return .problem("\(name): \(problem)") }
            var row = ArchiveIndexer.catalogImage(image, frame: listing.frame, archiveID: archiveID, encodedAt: createdAt)
            row.sourcePath = item.sourcePath
            return .verified(row)
        } catch {
            return .problem("\(name): \(error)")
        }
    }

    /// Why `image`'s bitstream does not decode to the latents with `latentDigest`, or nil.
    static func latentProblem(_ image: ArchiveImage, codec: CodecModel, latentDigest: SHA256Digest) throws -> String? {
        try ImageRestorer.latentDigest(image, with: codec) == latentDigest
            ? nil : "its bitstream decodes to other latents than the PSNR was measured on at encode"
    }

    /// Why `image` does not decode to the PSNR against `reference` (the original's pixels) that
    /// its record holds, within `toleranceDB`, or nil.
    static func pixelProblem(_ image: ArchiveImage, reference: PixelBuffer, codec: CodecModel, toleranceDB: Double) throws -> String? {
        let restored = try ImageRestorer.restoredPixels(try ImageRestorer.decode(image, with: codec),
                                                        mode: ArchivedImageMode(record: image.record))
        let psnr = try PSNR(reference: reference, distorted: restored).decibels
        let recorded = Double(image.record.psnr)
        guard psnr == recorded || abs(psnr - recorded) <= toleranceDB else {
            return String(format: "decodes to %.4f dB, %.4f dB was recorded at encode (tolerance %.4f dB)", psnr, recorded, toleranceDB)
        }
        return nil
    }
}
