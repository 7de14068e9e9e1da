import Foundation
import NacreImage
import Testing

/// Access to the files in Fixtures/ (made by make_png_fixtures.py and make_metric_reference.py).
enum Fixtures {
    static var directory: URL {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("The Fixtures resource folder is missing from the test bundle.")
        }
        return url
    }

    static func url(_ relativePath: String) -> URL { directory.appendingPathComponent(relativePath) }

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(relativePath)))
    }

    /// One decodable fixture and the pixels it must decode to.
    struct ExpectedPNG: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var width: Int
        var height: Int
        var source: SourceFormat
        var rgb: [UInt8]
        var alpha: [UInt8]?

        var testDescription: String { file }

        func pixelBuffer() throws -> PixelBuffer {
            try PixelBuffer(width: width, height: height, rgb: rgb, alpha: alpha)
        }

        func data() throws -> [UInt8] { try Fixtures.bytes("png/" + file) }
    }

    /// The chunks of a well-formed PNG stream: type and byte range (length field to CRC).
    static func chunks(of png: [UInt8]) -> [(type: String, range: Range<Int>)] {
        var chunks: [(type: String, range: Range<Int>)] = []
        var offset = 8
        while offset + 8 <= png.count {
            let length = png[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self)
            chunks.append((type, offset..<min(png.count, offset + 12 + length)))
            offset += 12 + length
        }
        return chunks
    }

    private struct ExpectedFile: Decodable { var fixtures: [ExpectedPNG] }

    /// Every entry of expected_pixels.json.
    static let expectedPNGs: [ExpectedPNG] = load("expected_pixels.json")
    /// The gAMA-chunk fixtures of expected_gamma.json (raw samples, before gamma conversion).
    static let gammaPNGs: [ExpectedPNG] = load("expected_gamma.json")

    private static func load(_ name: String) -> [ExpectedPNG] {
        do {
            let data = try Data(contentsOf: url(name))
            return try JSONDecoder().decode(ExpectedFile.self, from: data).fixtures
        } catch {
            fatalError("Cannot load \(name): \(error)")
        }
    }
}
