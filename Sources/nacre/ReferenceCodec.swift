import Foundation
import NacreImage

/// A conventional codec run through its Debian command-line tools, for side-by-side comparisons at
/// equal size (`nacre bench report`): JPEG (libjpeg-turbo `cjpeg`/`djpeg`, 4:2:0, optimized
/// Huffman), WebP (`cwebp`/`dwebp`, default method 4) and AVIF (`avifenc`/`avifdec`, libaom, speed
/// 6, 4:4:4). Each is driven by one integer setting; `matching(bytes:)` bisects it to the largest
/// file that does not exceed a byte budget.
struct ReferenceCodec: Sendable {
    let name: String
    /// Settings from worst to best quality (monotone in file size, near enough for bisection).
    let settings: ClosedRange<Int>
    /// The setting's meaning, for captions.
    let settingLabel: String
    private let encodeArguments: @Sendable (_ input: String, _ output: String, _ setting: Int) -> (tool: String, arguments: [String])
    private let decodeArguments: @Sendable (_ input: String, _ output: String) -> (tool: String, arguments: [String])
    /// File extension of the encoded file; and whether the encoder wants PPM (cjpeg) or PNG input.
    private let fileExtension: String
    private let wantsPPM: Bool
    /// Whether the decoder writes PPM (djpeg, dwebp) or PNG (avifdec).
    private let decodesToPPM: Bool

    static let jpeg = ReferenceCodec(
        name: "JPEG", settings: 1...100, settingLabel: "quality",
        encodeArguments: { input, output, q in ("cjpeg", ["-quality", "\(q)", "-optimize", "-outfile", output, input]) },
        decodeArguments: { input, output in ("djpeg", ["-pnm", "-outfile", output, input]) },
        fileExtension: "jpg", wantsPPM: true, decodesToPPM: true)
    static let webp = ReferenceCodec(
        name: "WebP", settings: 0...100, settingLabel: "quality",
        encodeArguments: { input, output, q in ("cwebp", ["-quiet", "-q", "\(q)", input, "-o", output]) },
        decodeArguments: { input, output in ("dwebp", ["-quiet", input, "-ppm", "-o", output]) },
        fileExtension: "webp", wantsPPM: false, decodesToPPM: true)
    /// The setting is 63 − quantizer, so that larger means better like the others.
    static let avif = ReferenceCodec(
        name: "AVIF", settings: 0...63, settingLabel: "63 − quantizer",
        encodeArguments: { input, output, s in
            ("avifenc", ["-s", "6", "-y", "444", "--min", "\(63 - s)", "--max", "\(63 - s)", input, output])
        },
        decodeArguments: { input, output in ("avifdec", [input, output]) },
        fileExtension: "avif", wantsPPM: false, decodesToPPM: false)

    static let all = [jpeg, webp, avif]

    /// One coded version of an image.
    struct Coded {
        var setting: Int
        var bytes: [UInt8]
        var decoded: PixelBuffer
    }

    /// Whether the tools are installed.
    var isAvailable: Bool {
        let tools = [encodeArguments("in", "out", 0).tool, decodeArguments("in", "out").tool]
        return tools.allSatisfy { tool in
            (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
                .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
    }

    /// Encodes `image` (its PNG at `pngPath`) at `setting` and decodes it back.
    func code(_ image: PixelBuffer, pngPath: String, setting: Int, scratch: String) throws -> Coded {
        var input = pngPath
        if wantsPPM {
            input = scratch + "/input.ppm"
            try Data(Self.ppm(image)).write(to: URL(fileURLWithPath: input))
        }
        let encodedPath = scratch + "/coded." + fileExtension
        let decodedPath = scratch + (decodesToPPM ? "/decoded.ppm" : "/decoded.png")
        let encode = encodeArguments(input, encodedPath, setting)
        try Self.run(encode.tool, encode.arguments)
        let decode = decodeArguments(encodedPath, decodedPath)
        try Self.run(decode.tool, decode.arguments)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: encodedPath)))
        let decodedBytes = Array(try Data(contentsOf: URL(fileURLWithPath: decodedPath)))
        let decoded = decodesToPPM ? try Self.parsePPM(decodedBytes) : try PNGReader.decode(decodedBytes).pixels
        return Coded(setting: setting, bytes: bytes, decoded: decoded)
    }

    /// The best setting whose file fits in `budget` bytes (the smallest setting if none fits).
    func matching(budget: Int, image: PixelBuffer, pngPath: String, scratch: String) throws -> Coded {
        var low = settings.lowerBound, high = settings.upperBound
        var best = try code(image, pngPath: pngPath, setting: low, scratch: scratch)
        guard best.bytes.count <= budget else { return best }
        while low < high {
            let middle = (low + high + 1) / 2
            let trial = try code(image, pngPath: pngPath, setting: middle, scratch: scratch)
            if trial.bytes.count <= budget { low = middle; best = trial } else { high = middle - 1 }
        }
        return best
    }

    /// Binary PPM (P6) of the image's RGB.
    static func ppm(_ image: PixelBuffer) -> [UInt8] {
        Array("P6\n\(image.width) \(image.height)\n255\n".utf8) + image.rgb
    }

    /// Parses the binary PPM the decoders write (P6, maxval 255, single-whitespace separators
    /// after each header field, no comments).
    static func parsePPM(_ bytes: [UInt8]) throws -> PixelBuffer {
        var fields: [Int] = []
        var index = 2
        guard bytes.count > 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "6") else {
            throw CodecCommandError("a reference decoder wrote something that is not a binary PPM")
        }
        while fields.count < 3 && index < bytes.count {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
            var value = 0
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { value = value * 10 + Int(bytes[index] - 0x30); index += 1 }
            fields.append(value)
        }
        index += 1
        guard fields.count == 3, fields[2] == 255, bytes.count - index == fields[0] * fields[1] * 3 else {
            throw CodecCommandError("a reference decoder wrote a PPM this reader does not take (header \(fields))")
        }
        return try PixelBuffer(width: fields[0], height: fields[1], rgb: Array(bytes[index...]))
    }

    /// Runs a tool, failing with its stderr.
    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CodecCommandError("\(tool) failed (status \(process.terminationStatus)): \(String(decoding: message, as: UTF8.self))")
        }
    }
}
