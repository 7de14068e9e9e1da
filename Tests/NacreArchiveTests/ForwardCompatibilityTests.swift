import Testing
@testable import NacreArchive

/// A v1.0 reader must read archives of later v1 minors: appended fields and new frame kinds are skipped.
@Suite("Forward compatibility within format 1")
struct ForwardCompatibilityTests {
    /// Builds a "v1.3" archive by hand: extra manifest fields, extra record and frame fields,
    /// extra index-entry fields, a zstd frame of an unknown kind and an unknown skippable frame.
    static func futureArchive(images: [ArchiveImage], model: [UInt8]) throws -> [UInt8] {
        let compressor = try ZstdCompressor()
        var file: [UInt8] = []
        var frames: [FrameLocation] = []
        var listings: [ImageListing] = []
        func add(_ frame: [UInt8], _ kind: FrameKind) -> FrameLocation {
            let location = FrameLocation(kind: kind, offset: UInt64(file.count), length: UInt64(frame.count), checksum: CRC32C.checksum(frame))
            file += frame
            frames.append(location)
            return location
        }
        func skippable(_ magic: UInt32, _ payload: [UInt8]) throws -> [UInt8] {
            try ArchiveFormat.skippableFrame(magic: magic, payload: payload)
        }
        // Manifest with minor 3 and a field appended to its body (CRC recomputed).
        var manifest = ArchiveTestSupport.manifest(for: model)
        manifest.minorVersion = 3
        var payload = Array(manifest.encodedPayload().dropLast(4)) + [0xAA, 0xBB, 0xCC]
        payload += withUnsafeBytes(of: CRC32C.checksum(payload).littleEndian, Array.init)
        _ = add(try skippable(ArchiveFormat.manifestFrameMagic, payload), .manifest)
        _ = add(try compressor.frame([FrameKind.model.rawValue] + model, level: 3), .model)
        for (number, image) in images.enumerated() {
            // Record with 6 appended bytes; frame content with 4 appended bytes after the alpha field.
            var record = ByteWriter()
            image.record.encode(into: &record)
            record.raw([1, 2, 3, 4, 5, 6])
            var content = ByteWriter()
            content.u8(FrameKind.image.rawValue)
            content.lengthPrefixed(record.bytes)
            content.varint(image.bitstreams.count)
            for stream in image.bitstreams { content.lengthPrefixed(stream) }
            if let alpha = image.alpha { content.varint(UInt64(alpha.count) + 1); content.raw(alpha) } else { content.varint(0) }
            content.raw([9, 9, 9, 9])
            let location = add(try compressor.frame(content.bytes, level: 3), .image)
            listings.append(ImageListing(image: image, frame: location))
            if number == 0 {
                _ = add(try compressor.frame([42, 1, 2, 3], level: 3), FrameKind(rawValue: 42))
                _ = add(try skippable(0x184D_2A5D, [7, 7, 7]), FrameKind(rawValue: 43))
            }
        }
        // Index whose entries carry 2 extra trailing bytes each.
        var table = ByteWriter()
        table.varint(frames.count)
        var previousEnd: UInt64 = 0
        var listingIterator = listings.makeIterator()
        for frame in frames {
            var entry = ByteWriter()
            entry.u8(frame.kind.rawValue)
            entry.varint(frame.offset - previousEnd)
            entry.varint(frame.length)
            entry.u32(frame.checksum)
            if frame.kind == .image { listingIterator.next()!.encodeSummary(into: &entry) }
            entry.raw([0xEE, 0xFF])
            table.lengthPrefixed(entry.bytes)
            previousEnd = frame.end
        }
        let index = try skippable(ArchiveFormat.indexFrameMagic, try compressor.frame(table.bytes, level: 3))
        var trailer = ArchiveTrailer(indexOffset: UInt64(file.count), indexLength: UInt64(index.count), indexChecksum: CRC32C.checksum(index))
        trailer.minorVersion = 3
        file += index
        file += trailer.encodedFrame()
        return file
    }

    @Test("A later minor version is read through its index and by a scan, skipping what it does not know")
    func readsFutureMinor() throws {
        let model = ArchiveTestSupport.model()
        let images = ArchiveTestSupport.images(count: 3)
        let bytes = try Self.futureArchive(images: images, model: model)

        let reader = try ArchiveReader.parse(bytes: bytes)
        #expect(reader.openedVia == .index)
        #expect(try reader.readManifest().minorVersion == 3)
        #expect(try reader.readModel() == model)
        for (position, image) in images.enumerated() { #expect(try reader.readImage(at: position) == image) }
        #expect(reader.frames.map(\.kind.rawValue) == [1, 2, 3, 42, 43, 3, 3])
        #expect(reader.verify().isIntact)

        // The same archive without its trailer: the scan must skip the unknown frames too.
        let scanned = try ArchiveReader.parse(bytes: Array(bytes.dropLast(48)))
        #expect(scanned.openedVia == .linearScan)
        for (position, image) in images.enumerated() { #expect(try scanned.readImage(at: position) == image) }
        #expect(try scanned.readManifest().minorVersion == 3)
    }
}
