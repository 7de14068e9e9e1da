import Foundation
import Testing
import NacreArchive

@Suite("Archive write and read round trip")
struct ArchiveRoundTripTests {
    @Test("Every record, bitstream, alpha plane, the model and the manifest come back exactly")
    func roundTrip() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let path = folder + "/photos.nacre"
        let model = ArchiveTestSupport.model()
        let images = ArchiveTestSupport.images(count: 6)
        let sealed = try ArchiveTestSupport.writeArchive(at: path, images: images, model: model)
        #expect(sealed.imageCount == 6)
        #expect(try ArchiveTestSupport.contents(of: folder) == ["photos.nacre"])

        let reader = try ArchiveReader.open(path: path)
        #expect(reader.openedVia == .index)
        #expect(reader.openProblems.isEmpty)
        #expect(reader.fileSize == sealed.fileSize)
        #expect(reader.images.map(\.name) == images.map(\.record.name))
        for (position, image) in images.enumerated() {
            #expect(try reader.readImage(at: position) == image)
            let listing = reader.images[position]
            #expect(listing.width == image.record.width && listing.quality == image.record.quality && listing.psnr == image.record.psnr)
            #expect(listing.colorType == image.record.colorType && listing.bitDepth == image.record.bitDepth && listing.flags == image.record.flags)
            #expect(listing.latentByteCount == UInt64(image.latentByteCount))
            #expect(listing.alphaByteCount == UInt64(image.alpha?.count ?? 0))
        }
        #expect(try reader.readImage(named: "photos/IMG_0003.png") == images[3])
        #expect(try reader.readModel() == model)
        let manifest = try reader.readManifest()
        #expect(manifest == ArchiveTestSupport.manifest(for: model))
        #expect(manifest.modelSHA256 == SHA256.hash(try reader.readModel()))
        let report = reader.verify()
        #expect(report.isIntact)
        #expect(report.frames.count == 8)
    }

    @Test("An archive with no images round-trips")
    func emptyArchive() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        try ArchiveTestSupport.writeArchive(at: folder + "/empty.nacre", images: [], model: [])
        let reader = try ArchiveReader.open(path: folder + "/empty.nacre")
        #expect(reader.images.isEmpty)
        #expect(try reader.readModel() == [])
        #expect(reader.verify().isIntact)
    }

    @Test("The real zstd CLI accepts a sealed archive (and rejects a damaged one)")
    func zstdAcceptsArchive() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let path = folder + "/photos.nacre"
        try ArchiveTestSupport.writeArchive(at: path, images: ArchiveTestSupport.images(count: 5), model: ArchiveTestSupport.model())
        let good = try ArchiveTestSupport.run("/usr/bin/zstd", ["-t", "-q", path])
        #expect(good.status == 0, "zstd -t: \(good.output)")

        let reader = try ArchiveReader.open(path: path)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let frame = reader.images[2].frame
        bytes[Int(frame.offset + frame.length / 2)] ^= 0x40
        let damagedPath = folder + "/damaged.nacre"
        try Data(bytes).write(to: URL(fileURLWithPath: damagedPath))
        #expect(try ArchiveTestSupport.run("/usr/bin/zstd", ["-t", "-q", damagedPath]).status != 0)
    }

    @Test("Listing reads only the trailer and index; restoring one image reads one more frame")
    func readsAreConstant() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let path = folder + "/photos.nacre"
        let sealed = try ArchiveTestSupport.writeArchive(at: path, images: ArchiveTestSupport.images(count: 40), model: ArchiveTestSupport.model())
        let reader = try ArchiveReader.open(path: path)
        #expect(reader.images.count == 40)
        let afterOpen = reader.readStatistics
        #expect(afterOpen.reads == 2)
        #expect(afterOpen.bytes == sealed.indexAndTrailerBytes)
        _ = try reader.readImage(at: 27)
        let afterRestore = reader.readStatistics
        #expect(afterRestore.reads == 3)
        #expect(afterRestore.bytes - afterOpen.bytes == reader.images[27].frame.length)
    }

    @Test("Container overhead per image stays within 64 bytes beyond its payload")
    func overheadPerImage() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let path = folder + "/photos.nacre"
        let model = ArchiveTestSupport.model()
        // Latent sizes from a small thumbnail to a 12 MP photo at ~0.4 bpp (several zstd blocks).
        let images = ArchiveTestSupport.images(count: 200, latentBytes: 2_000...600_000).map { image in
            var image = image
            image.alpha = nil
            return image
        }
        let sealed = try ArchiveTestSupport.writeArchive(at: path, images: images, model: model)
        let reader = try ArchiveReader.open(path: path)
        let fixed = reader.frames[0].length + reader.frames[1].length + 48
        // Payload: the record's fields (name, 59 bytes of numbers and digest, the v1.1 original size
        // as a varint) and the bitstreams. The size's copy in the index summary counts as overhead.
        let payload = images.reduce(UInt64(0)) {
            $0 + UInt64($1.record.name.count + 59 + ArchiveTestSupport.varintLength(($1.record.originalByteCount ?? 0) + 1) + $1.latentByteCount)
        }
        let overhead = Double(sealed.fileSize - fixed - payload) / Double(images.count)
        let indexPerImage = Double(sealed.indexAndTrailerBytes - 48) / Double(images.count)
        let framesPerImage = Double(reader.images.reduce(UInt64(0)) { $0 + $1.frame.length }) / Double(images.count)
        let payloadPerImage = Double(payload) / Double(images.count)
        print("container overhead per image: \(overhead) bytes (200 images, latents 2 KB-600 KB, names \(images[0].record.name.count) bytes): frame+framing \(framesPerImage - payloadPerImage), index \(indexPerImage)")
        #expect(overhead <= 64)
        #expect(overhead > 0)
    }

    @Test("Duplicate names, overlong names and an existing destination are refused")
    func refusals() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let path = folder + "/photos.nacre"
        let model = ArchiveTestSupport.model()
        let images = ArchiveTestSupport.images(count: 2)
        let writer = try ArchiveWriter(path: path, manifest: ArchiveTestSupport.manifest(for: model), model: model)
        try writer.append(images[0])
        let duplicate = #expect(throws: ArchiveError.self) { try writer.append(images[0]) }
        #expect(duplicate?.code == .invalidArgument)
        var long = images[1]
        long.record.name = [UInt8](repeating: 0x41, count: 70_000)
        #expect(throws: ArchiveError.self) { try writer.append(long) }
        _ = try writer.seal()
        let afterSeal = #expect(throws: ArchiveError.self) { try writer.append(images[1]) }
        #expect(afterSeal?.code == .writerClosed)

        let before = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let existing = #expect(throws: ArchiveError.self) {
            try ArchiveWriter(path: path, manifest: ArchiveTestSupport.manifest(for: model), model: model)
        }
        #expect(existing?.code == .alreadyExists)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == before)
        #expect(try ArchiveTestSupport.contents(of: folder) == ["photos.nacre"])
    }

    @Test("Sealing refuses to replace a file that appeared at the final name meanwhile")
    func sealDoesNotReplace() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let path = folder + "/photos.nacre"
        let model = ArchiveTestSupport.model()
        let writer = try ArchiveWriter(path: path, manifest: ArchiveTestSupport.manifest(for: model), model: model)
        try writer.append(ArchiveTestSupport.images(count: 1)[0])
        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ArchiveError.self) { try writer.seal() }
        #expect(error?.code == .alreadyExists)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "someone else's")
        writer.abort()
        #expect(try ArchiveTestSupport.contents(of: folder) == ["photos.nacre"])
    }

    @Test("Errors carry a stable code and a message saying what to do")
    func errorDescription() throws {
        let error = #expect(throws: ArchiveError.self) { try ArchiveReader.open(path: "/nonexistent/nothing.nacre") }
        #expect(error?.code == .notFound)
        #expect(error?.description.contains("notFound") == true)
        #expect(error?.description.contains("/nonexistent/nothing.nacre") == true)
    }
}
