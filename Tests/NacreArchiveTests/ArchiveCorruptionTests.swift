import Foundation
import Testing
@testable import NacreArchive

/// Damaged archives: every case must give typed errors (never a crash) and lose only what is damaged.
@Suite("Archive corruption")
struct ArchiveCorruptionTests {
    /// Checks that `reader` lists exactly the sample's images except `lost`, and restores each exactly.
    static func expectOnlyLost(_ lost: Set<Int>, reader: ArchiveReader, sample: ArchiveTestSupport.Sample,
                               sourceLocation: SourceLocation = #_sourceLocation) {
        for (number, image) in sample.images.enumerated() {
            if lost.contains(number) {
                #expect(throws: ArchiveError.self, "image \(number) should be lost", sourceLocation: sourceLocation) {
                    try reader.readImage(named: image.record.name)
                }
            } else {
                let restored = (try? reader.readImage(named: image.record.name)) == image
                #expect(restored, "image \(number) should read", sourceLocation: sourceLocation)
            }
        }
    }

    /// Frame boundaries of the sample: start of each frame, of the index and of the trailer.
    static func boundaries(_ sample: ArchiveTestSupport.Sample) -> [Int] {
        sample.frames.map { Int($0.offset) } + [sample.indexOffset, sample.trailerOffset]
    }

    @Test("Truncation at every frame boundary keeps exactly the images before the cut")
    func truncationAtBoundaries() throws {
        let sample = try ArchiveTestSupport.sample()
        for cut in Self.boundaries(sample) { try Self.checkTruncation(sample, at: cut) }
    }

    @Test("Truncation in the middle of every frame keeps exactly the images before the cut")
    func truncationMidFrame() throws {
        let sample = try ArchiveTestSupport.sample()
        let sections = sample.frames.map { (Int($0.offset), Int($0.length)) }
            + [(sample.indexOffset, sample.indexLength), (sample.trailerOffset, 48)]
        for (offset, length) in sections {
            for cut in [offset + 1, offset + 5, offset + length / 2, offset + length - 1] { try Self.checkTruncation(sample, at: cut) }
        }
    }

    static func checkTruncation(_ sample: ArchiveTestSupport.Sample, at cut: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = Array(sample.bytes[0..<cut])
        let manifestEnd = Int(sample.frames[0].end)
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader.parse(bytes: bytes)
        } catch {
            #expect(cut < manifestEnd, "cut at \(cut): \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(reader.openedVia == .linearScan, sourceLocation: sourceLocation)
        let survivors = Set(sample.images.indices.filter { Int(sample.frames[$0 + 2].end) <= cut })
        #expect(reader.images.count == survivors.count, "cut at \(cut)", sourceLocation: sourceLocation)
        expectOnlyLost(Set(sample.images.indices).subtracting(survivors), reader: reader, sample: sample, sourceLocation: sourceLocation)
        if cut >= Int(sample.frames[1].end) { #expect(try reader.readModel() == sample.model, sourceLocation: sourceLocation) }
        let report = reader.verify()
        #expect(!report.isIntact, sourceLocation: sourceLocation)
        #expect(!report.archiveProblems.isEmpty, sourceLocation: sourceLocation)
    }

    @Test("A flipped byte in one image loses only that image, and verify names it", arguments: [0, 1, 2, 3])
    func flippedImageByte(damaged: Int) throws {
        let sample = try ArchiveTestSupport.sample()
        let frame = sample.frames[damaged + 2]
        for position in [Int(frame.offset), Int(frame.offset) + 4, Int(frame.offset) + 7, Int(frame.offset + frame.length / 2), Int(frame.end) - 1] {
            var bytes = sample.bytes
            bytes[position] ^= 0x10
            let reader = try ArchiveReader.parse(bytes: bytes)
            #expect(reader.openedVia == .index)
            Self.expectOnlyLost([damaged], reader: reader, sample: sample)
            let error = #expect(throws: ArchiveError.self) { try reader.readImage(at: damaged) }
            #expect(error?.code == .checksumMismatch)
            let report = reader.verify()
            #expect(report.damagedImageNames == [sample.images[damaged].record.name])
            #expect(report.damagedFrames.count == 1)
            #expect(try reader.readModel() == sample.model)
        }
    }

    @Test("With the index also damaged, the scan still loses only the damaged image", arguments: [0, 1, 2, 3])
    func flippedImageAndIndex(damaged: Int) throws {
        let sample = try ArchiveTestSupport.sample()
        let frame = sample.frames[damaged + 2]
        // Magic, frame header, block header, middle and checksum: resynchronisation must cope with each.
        // (Bit 0 is used in each; the frame header's bit 4 is unused by zstd and a flip there harms nothing.)
        for position in [Int(frame.offset), Int(frame.offset) + 4, Int(frame.offset) + 7, Int(frame.offset + frame.length / 2), Int(frame.end) - 1] {
            var bytes = sample.bytes
            bytes[position] ^= 0x01
            bytes[sample.indexOffset + sample.indexLength / 2] ^= 0x01
            let reader = try ArchiveReader.parse(bytes: bytes)
            #expect(reader.openedVia == .linearScan)
            #expect(reader.images.count == sample.images.count - 1, "flip at \(position)")
            Self.expectOnlyLost([damaged], reader: reader, sample: sample)
            #expect(try reader.readManifest() == sample.manifest)
            #expect(!reader.verify().isIntact)
        }
    }

    @Test("A flipped byte in the manifest loses the manifest only")
    func flippedManifestByte() throws {
        let sample = try ArchiveTestSupport.sample()
        for position in [0, 5, 12, Int(sample.frames[0].length) / 2, Int(sample.frames[0].length) - 1] {
            var bytes = sample.bytes
            bytes[position] ^= 0x08
            let reader = try ArchiveReader.parse(bytes: bytes)
            Self.expectOnlyLost([], reader: reader, sample: sample)
            #expect(throws: ArchiveError.self) { try reader.readManifest() }
            let report = reader.verify()
            #expect(report.damagedFrames.map(\.frame.kind) == [.manifest])
            #expect(try reader.readModel() == sample.model)
        }
        // Without the index as well, the scan must still find everything else.
        var bytes = sample.bytes
        bytes[3] ^= 0x08
        bytes[sample.trailerOffset + 20] ^= 0x01
        let reader = try ArchiveReader.parse(bytes: bytes)
        #expect(reader.openedVia == .linearScan)
        Self.expectOnlyLost([], reader: reader, sample: sample)
        #expect(throws: ArchiveError.self) { try reader.readManifest() }
    }

    @Test("A flipped byte in the model loses the model only")
    func flippedModelByte() throws {
        let sample = try ArchiveTestSupport.sample()
        let model = sample.frames[1]
        var bytes = sample.bytes
        bytes[Int(model.offset + model.length / 2)] ^= 0x20
        let reader = try ArchiveReader.parse(bytes: bytes)
        Self.expectOnlyLost([], reader: reader, sample: sample)
        let error = #expect(throws: ArchiveError.self) { try reader.readModel() }
        #expect(error?.code == .checksumMismatch)
        #expect(reader.verify().damagedFrames.map(\.frame.kind) == [.model])
    }

    @Test("A flipped byte in the index or trailer falls back to the scan and loses nothing")
    func flippedIndexOrTrailerByte() throws {
        let sample = try ArchiveTestSupport.sample()
        let positions = [sample.indexOffset, sample.indexOffset + 9, sample.indexOffset + sample.indexLength - 1]
            + Array(stride(from: sample.trailerOffset, to: sample.bytes.count, by: 5))
        for position in positions {
            var bytes = sample.bytes
            bytes[position] ^= 0x04
            let reader = try ArchiveReader.parse(bytes: bytes)
            #expect(reader.openedVia == .linearScan, "flip at \(position)")
            Self.expectOnlyLost([], reader: reader, sample: sample)
            #expect(try reader.readManifest() == sample.manifest)
            let report = reader.verify()
            #expect(!report.isIntact)
            #expect(report.damagedFrames.isEmpty)
        }
    }

    @Test("Files that are not archives are refused as such")
    func wrongMagic() throws {
        var generator = SplitMix64(seed: 99)
        for bytes in [[], [0x89, 0x50, 0x4E, 0x47], generator.bytes(5000), Array("hello, not an archive".utf8)] {
            let error = #expect(throws: ArchiveError.self) { try ArchiveReader.parse(bytes: bytes) }
            #expect(error?.code == .notAnArchive || error?.code == .truncated)
        }
        // A valid zstd file that is not a Nacre archive.
        let plain = try ZstdCompressor().frame(Array("plain zstd data".utf8), level: 3)
        let error = #expect(throws: ArchiveError.self) { try ArchiveReader.parse(bytes: plain) }
        #expect(error?.code == .notAnArchive)

        // The Nacre magics replaced (CRCs made valid again): not an archive.
        let sample = try ArchiveTestSupport.sample()
        var bytes = sample.bytes
        bytes[8] = UInt8(ascii: "X")
        ArchiveTestSupport.resealManifest(&bytes)
        bytes[sample.trailerOffset + 8] = UInt8(ascii: "X")
        ArchiveTestSupport.resealTrailer(&bytes)
        let reader = try ArchiveReader.parse(bytes: bytes)
        let manifestError = #expect(throws: ArchiveError.self) { try reader.readManifest() }
        #expect(manifestError?.code == .notAnArchive)
        // ...while the images, being intact frames, are still recovered.
        Self.expectOnlyLost([], reader: reader, sample: sample)
    }

    @Test("An unknown major version is refused; a newer minor version is read")
    func versions() throws {
        let sample = try ArchiveTestSupport.sample()
        // Major 2 in both manifest and trailer.
        var bytes = sample.bytes
        ArchiveTestSupport.patch(&bytes, at: 16, UInt16(2))
        ArchiveTestSupport.resealManifest(&bytes)
        ArchiveTestSupport.patch(&bytes, at: sample.trailerOffset + 16, UInt16(2))
        ArchiveTestSupport.resealTrailer(&bytes)
        var error = #expect(throws: ArchiveError.self) { try ArchiveReader.parse(bytes: bytes) }
        #expect(error?.code == .unsupportedVersion)
        // Major 2 in the manifest only, trailer damaged: the scan meets the manifest and refuses.
        bytes[sample.trailerOffset + 30] ^= 1
        error = #expect(throws: ArchiveError.self) { try ArchiveReader.parse(bytes: bytes) }
        #expect(error?.code == .unsupportedVersion)
        // Unknown required feature bits are refused too.
        bytes = sample.bytes
        ArchiveTestSupport.patch(&bytes, at: 20, UInt32(0x10))
        ArchiveTestSupport.resealManifest(&bytes)
        error = #expect(throws: ArchiveError.self) { try ArchiveReader.parse(bytes: bytes).readManifest() }
        #expect(error?.code == .unsupportedVersion)
        // Minor 7: read normally.
        bytes = sample.bytes
        ArchiveTestSupport.patch(&bytes, at: 18, UInt16(7))
        ArchiveTestSupport.resealManifest(&bytes)
        ArchiveTestSupport.patch(&bytes, at: sample.trailerOffset + 18, UInt16(7))
        ArchiveTestSupport.resealTrailer(&bytes)
        // The manifest's CRC changed, so its index CRC must be updated: rewrite the index entry.
        let reader = try ArchiveReader.parse(bytes: try Self.rewriteIndex(bytes, sample: sample) { frames, _ in
            frames[0].checksum = CRC32C.checksum(bytes[0..<Int(frames[0].length)])
        })
        #expect(reader.openedVia == .index)
        #expect(try reader.readManifest().minorVersion == 7)
        Self.expectOnlyLost([], reader: reader, sample: sample)
        #expect(reader.verify().isIntact)
    }

    @Test("An index or trailer pointing out of bounds falls back to the scan and loses nothing")
    func outOfBounds() throws {
        let sample = try ArchiveTestSupport.sample()
        for (field, value) in [(24, UInt64(1) << 40), (24, UInt64(sample.bytes.count)), (32, UInt64(sample.bytes.count)), (32, UInt64.max)] {
            var bytes = sample.bytes
            ArchiveTestSupport.patch(&bytes, at: sample.trailerOffset + field, value)
            ArchiveTestSupport.resealTrailer(&bytes)
            let reader = try ArchiveReader.parse(bytes: bytes)
            #expect(reader.openedVia == .linearScan)
            #expect(reader.openProblems.first?.code == .indexOutOfBounds)
            Self.expectOnlyLost([], reader: reader, sample: sample)
            #expect(!reader.verify().isIntact)
        }
        // An index entry pointing past the index (index itself intact and checksummed): a huge gap
        // before entry `damaged`, or a huge length of the last entry.
        for damaged in [1, 3, 5, 6] {
            let bytes = try Self.rewriteIndex(sample.bytes, sample: sample) { frames, _ in
                if damaged == 6 {
                    frames[5].length += 1 << 32
                } else {
                    for later in damaged..<frames.count { frames[later].offset += 1 << 40 }
                }
            }
            let reader = try ArchiveReader.parse(bytes: bytes)
            #expect(reader.openedVia == .linearScan)
            #expect(reader.openProblems.first?.code == .indexOutOfBounds)
            Self.expectOnlyLost([], reader: reader, sample: sample)
        }
        // Index entries naming the wrong (but in-bounds) frames: those two images fail, others read.
        let swapped = try Self.rewriteIndex(sample.bytes, sample: sample) { _, images in
            let (first, second) = (images[1].name, images[2].name)
            images[1].name = second
            images[2].name = first
        }
        let reader = try ArchiveReader.parse(bytes: swapped)
        #expect(reader.openedVia == .index)
        Self.expectOnlyLost([1, 2], reader: reader, sample: sample)
        #expect(reader.verify().damagedImageNames.count == 2)
    }

    /// Rebuilds the archive's index after `edit` changes its entries, with valid CRCs throughout.
    static func rewriteIndex(_ bytes: [UInt8], sample: ArchiveTestSupport.Sample,
                             edit: (inout [FrameLocation], inout [ImageListing]) -> Void) throws -> [UInt8] {
        let intact = try ArchiveReader.parse(bytes: sample.bytes)
        var frames = intact.frames
        var images = intact.images
        edit(&frames, &images)
        let table = ArchiveIndex(frames: frames, images: images).encodedTable()
        let index = try ArchiveFormat.skippableFrame(magic: ArchiveFormat.indexFrameMagic, payload: try ZstdCompressor().frame(table, level: 3))
        let head = Array(bytes[0..<sample.indexOffset])
        var trailer = try ArchiveTrailer.decode(frame: Array(bytes[sample.trailerOffset...]))
        trailer.indexLength = UInt64(index.count)
        trailer.indexChecksum = CRC32C.checksum(index)
        return head + index + trailer.encodedFrame()
    }

    @Test("A checksummed index with impossible frame lengths gives errors, not crashes")
    func forgedIndexLengths() throws {
        let sample = try ArchiveTestSupport.sample()
        for length in [UInt64(1), 3, 7] {
            let bytes = try Self.rewriteIndex(sample.bytes, sample: sample) { frames, images in
                for position in frames.indices {
                    frames[position].length = length
                    frames[position].checksum = CRC32C.checksum(sample.bytes[Int(frames[position].offset)..<Int(frames[position].offset + length)])
                }
                for position in images.indices { images[position].frame = frames[position + 2] }
            }
            let reader = try ArchiveReader.parse(bytes: bytes)
            #expect(reader.openedVia == .index)
            #expect(throws: ArchiveError.self) { try reader.readManifest() }
            #expect(throws: ArchiveError.self) { try reader.readModel() }
            for position in reader.images.indices { #expect(throws: ArchiveError.self) { try reader.readImage(at: position) } }
            #expect(reader.verify().damagedFrames.count == reader.frames.count)
        }
    }

    @Test("Lengths running one byte past their structure throw (fuzzer regression)")
    func lengthJustPastEnd() throws {
        // Kind byte, then a record length equal to the bytes left *before* the length itself.
        var content: [UInt8] = [3, 68]
        content += [UInt8](repeating: 0x41, count: 67)
        let error = #expect(throws: ArchiveError.self) { try ArchiveImage.decode(content: content) }
        #expect(error?.code == .truncated)
        var table = ByteWriter()
        table.varint(1)
        table.varint(20)
        table.raw([UInt8](repeating: 1, count: 19))
        #expect(throws: ArchiveError.self) { try ArchiveIndex.decode(table: table.bytes, limit: 1000) }
        // The fuzzer's original input.
        let fuzzInput: [UInt8] = [
            0xc3, 0x44, 0x3f, 0x00, 0x00, 0x36, 0x42, 0x01, 0x4c, 0x00, 0x33, 0x03, 0x00, 0xab, 0x03, 0x94,
            0x77, 0x0e, 0x2d, 0x14, 0x61, 0x6c, 0x70, 0x4d, 0x18, 0x28, 0x00, 0x00, 0x00, 0x4e, 0x41, 0x43,
            0x52, 0x45, 0x54, 0x52, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x13, 0x01, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb1, 0x90, 0x9c,
            0x67, 0xc8, 0x77, 0x7d, 0x9d,
        ]
        #expect(throws: ArchiveError.self) { try ArchiveImage.decode(content: fuzzInput) }
    }

    @Test("Random byte flips anywhere never crash and never return wrong data")
    func randomFlips() throws {
        let sample = try ArchiveTestSupport.sample()
        var generator = SplitMix64(seed: 2026)
        for _ in 0..<300 {
            var bytes = sample.bytes
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            }
            guard let reader = try? ArchiveReader.parse(bytes: bytes) else { continue }
            for position in reader.images.indices {
                if let image = try? reader.readImage(at: position) {
                    let isOriginal = sample.images.contains(image)
                    #expect(isOriginal)
                }
            }
            _ = reader.verify()
        }
    }
}
