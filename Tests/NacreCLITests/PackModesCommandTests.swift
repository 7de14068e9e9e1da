import Foundation
import NacreImage
import NacreTestSupport
import Testing

/// Every PNG mode through `nacre pack` and `nacre unpack`: gray stays gray, 16-bit comes back
/// 16-bit, palettes come back as RGB (RGBA with tRNS), alpha exactly, and the restored file's PSNR
/// is the one recorded at encode. Inputs are the PNG reader's mode fixtures.
@Suite(.enabled(if: NacreExecutable.path != nil, "the nacre executable is not built (run `swift build` first)"))
struct PackModesCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NacreImageTests/Fixtures/png").path
    /// One fixture per mode the restore writes differently (interlacing and bit depths below 8
    /// are covered by the reader's own tests).
    static let modes = ["gray1.png", "gray8.png", "gray8_trns.png", "gray16.png", "grayAlpha8.png", "grayAlpha16.png",
                        "palette4.png", "palette8_trns.png", "rgb8.png", "rgb16.png", "rgb16_interlaced.png",
                        "rgba8.png", "rgba16.png"]

    /// (colour type, bit depth) a restore of `source` is written in.
    static func expectedMode(of source: SourceFormat) -> (SourceFormat.ColorType, Int) {
        let sixteen = source.bitDepth == 16 ? 16 : 8
        switch source.colorType {
        case .gray: return source.hasAlpha ? (.grayAlpha, sixteen) : (.gray, sixteen)
        case .grayAlpha: return (.grayAlpha, sixteen)
        case .palette: return source.hasAlpha ? (.rgba, 8) : (.rgb, 8)
        case .rgb: return source.hasAlpha ? (.rgba, sixteen) : (.rgb, sixteen)
        case .rgba: return (.rgba, sixteen)
        }
    }

    static func isGray(_ rgb: [UInt8]) -> Bool {
        var index = 0
        while index + 2 < rgb.count {
            if rgb[index] != rgb[index + 1] || rgb[index] != rgb[index + 2] { return false }
            index += 3
        }
        return true
    }

    @Test func everyModeRoundTripsInItsOwnModeWithTheRecordedPSNR() throws {
        let workspace = try PackUnpackCommandTests.Workspace()
        defer { workspace.remove() }
        let inputs = workspace.root + "/modes"
        try FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: true)
        for name in Self.modes {
            try FileManager.default.copyItem(atPath: Self.fixtures + "/" + name, toPath: inputs + "/" + name)
        }
        let archive = workspace.root + "/modes.nacre"
        let pack = try NacreExecutable.run(["pack", "--model", workspace.model, "--quality", "90", "-o", archive, "--json", inputs])
        try #require(pack.status == 0, "pack failed: \(pack.stderr)")
        let packed = try #require(try PackUnpackCommandTests.jsonObject(pack.stdout)["images"] as? [[String: Any]])
        #expect(packed.count == Self.modes.count)

        let restoredFolder = workspace.root + "/restored"
        let unpack = try NacreExecutable.run(["unpack", archive, "-o", restoredFolder])
        try #require(unpack.status == 0, "unpack failed: \(unpack.stderr)")
        for entry in packed {
            let name = try #require(entry["name"] as? String)
            let original = try PNGReader.read(contentsOfFile: inputs + "/" + name)
            let restored = try PNGReader.read(contentsOfFile: restoredFolder + "/" + name)
            let (colorType, bitDepth) = Self.expectedMode(of: original.source)
            #expect(restored.source.colorType == colorType, "\(name): restored as \(restored.source.colorType)")
            #expect(restored.source.bitDepth == bitDepth, "\(name): restored at \(restored.source.bitDepth) bits")
            #expect(restored.pixels.alpha == original.pixels.alpha, "\(name): alpha not restored exactly")
            if original.source.colorType == .gray || original.source.colorType == .grayAlpha {
                #expect(Self.isGray(restored.pixels.rgb), "\(name): a gray source must restore gray")
            }
            let psnr = try PSNR(reference: original.pixels, distorted: restored.pixels).decibels
            if let recorded = entry["psnr"] as? Double {
                #expect(abs(psnr - recorded) < 0.01, "\(name): restored PSNR \(psnr) vs recorded \(recorded)")
            } else {
                #expect(psnr.isInfinite, "\(name): no PSNR recorded (lossless) but the restore differs: \(psnr) dB")
            }
        }
    }
}
