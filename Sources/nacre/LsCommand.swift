import ArgumentParser
import Foundation
import NacreArchive

/// `nacre ls`: what an archive holds, read from its index.
struct LsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the images of a .nacre archive (reads only the index).",
        discussion: "Per image: name, size, quality, latent bytes, bits per pixel and PSNR at encode. "
            + "Per archive: total bytes, decoder bytes, and mean bits per pixel with and without the decoder.")

    @Argument(help: "The archive to list.")
    var archive: String
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader.open(path: archive)
        } catch {
            throw CLIError(error)
        }
        let totals = ArchiveStatistics(reader: reader)
        if json {
            let listing = ArchiveListingJSON(
                archive: archive, openedVia: "\(reader.openedVia)",
                problems: reader.openProblems.map(\.description),
                images: reader.images.map(ArchiveListingJSON.Image.init), totals: totals)
            print(try CLIError.jsonString(listing))
            return
        }
        for problem in reader.openProblems { FileHandle.standardError.write(Data("warning: \(problem)\n".utf8)) }
        let nameWidth = max(4, reader.images.map(\.displayName.count).max() ?? 0)
        // One write for the whole table: 10,000 lines through print() and String(format:) cost
        // more than reading the index.
        var table = Self.padded("name", nameWidth) + "  " + Self.padded("size", 11, right: true) + "  quality  latent B     bpp  PSNR dB\n"
        table.reserveCapacity(reader.images.count * (nameWidth + 60))
        for image in reader.images {
            table += Self.padded(image.displayName, nameWidth) + "  "
                + Self.padded("\(image.width)×\(image.height)", 11, right: true)
                + "  " + Self.decimal(Double(image.quality), places: 1, width: 7)
                + "  " + Self.padded("\(image.latentByteCount)", 8, right: true)
                + "  " + Self.decimal(image.bitsPerPixel, places: 4, width: 6)
                + "  " + Self.decimal(Double(image.psnr), places: 2, width: 7) + "\n"
        }
        FileHandle.standardOutput.write(Data(table.utf8))
        print(String(format: "%d images, %.2f MP; file %llu B, decoder %llu B, latents %llu B; "
                     + "%.4f bpp (latents), %.4f bpp (whole archive)",
                     totals.imageCount, Double(totals.pixelCount) / 1e6, totals.fileBytes, totals.decoderBytes,
                     totals.latentBytes, totals.latentBitsPerPixel, totals.archiveBitsPerPixel))
    }
}

extension LsCommand {
    /// `text` padded with spaces to `width` characters (on the left when `right`).
    static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }

    /// `value` with `places` decimals (rounded half away from zero), right-aligned to `width`,
    /// as `%width.placesf` prints it; without Foundation's formatter, which is slow per call.
    static func decimal(_ value: Double, places: Int, width: Int) -> String {
        guard value.isFinite else { return padded(value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf"), width, right: true) }
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let magnitude = abs(value) * Double(scale)
        guard magnitude < 9e18 else { return padded(String(value), width, right: true) }
        let units = UInt64(magnitude.rounded(.toNearestOrAwayFromZero))
        var text = String(units / scale)
        if places > 0 {
            let fraction = String(units % scale)
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        if value < 0 && units > 0 { text = "-" + text }
        return padded(text, width, right: true)
    }
}

/// The `--json` shape of `nacre ls`.
struct ArchiveListingJSON: Encodable {
    struct Image: Encodable {
        var name: String
        var width: UInt32
        var height: UInt32
        var quality: Float
        var latentBytes: UInt64
        var bitsPerPixel: Double
        var psnr: Float
        var frameOffset: UInt64
        var frameLength: UInt64

        init(_ listing: ImageListing) {
            name = listing.displayName
            width = listing.width
            height = listing.height
            quality = listing.quality
            latentBytes = listing.latentByteCount
            bitsPerPixel = listing.bitsPerPixel
            psnr = listing.psnr
            frameOffset = listing.frame.offset
            frameLength = listing.frame.length
        }
    }

    var archive: String
    var openedVia: String
    var problems: [String]
    var images: [Image]
    var totals: ArchiveStatistics
}
