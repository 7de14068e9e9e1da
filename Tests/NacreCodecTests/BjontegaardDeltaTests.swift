import Foundation
import Testing
@testable import NacreCodec

/// The Kodak anchors beside the repository (`../shared/anchors/kodak`).
private let anchorFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/anchors/kodak")

struct BjontegaardDeltaTests {
    @Test func identicalCurvesGiveZero() throws {
        let curve = RateDistortionCurve(method: "x", bpp: [0.2, 0.4, 0.8, 1.6], psnr: [26, 29, 32, 35])
        #expect(abs(try BjontegaardDelta.rate(reference: curve, test: curve)) < 1e-9)
    }

    @Test func halvedRateGivesMinusFiftyPercent() throws {
        let reference = RateDistortionCurve(method: "r", bpp: [0.2, 0.4, 0.8, 1.6, 3.2], psnr: [26, 29, 32, 35, 38])
        let test = RateDistortionCurve(method: "t", bpp: reference.bpp.map { $0 / 2 }, psnr: reference.psnr)
        #expect(abs(try BjontegaardDelta.rate(reference: reference, test: test) - -50) < 1e-6)
    }

    @Test func rejectsCurvesWithoutOverlap() {
        let low = RateDistortionCurve(method: "l", bpp: [0.1, 0.2, 0.3, 0.4], psnr: [20, 21, 22, 23])
        let high = RateDistortionCurve(method: "h", bpp: [1, 2, 3, 4], psnr: [30, 31, 32, 33])
        #expect(throws: EvaluationError.self) { try BjontegaardDelta.rate(reference: low, test: high) }
    }

    /// Reference values: numpy.polyfit(psnr, log10(bpp), 3) integrated over the shared range,
    /// the method behind the BD-rates listed in shared/anchors/kodak/README.md.
    @Test(arguments: [
        ("this-machine-pillow.json", "webp", -34.37),
        ("this-machine-pillow.json", "avif", -48.89),
        ("bpg444.json", "bpg444", -55.43),
        ("bmshj2018-hyperprior-mse.json", "bmshj2018-hyperprior-mse", -52.12),
    ])
    func matchesPublishedAnchorBDRates(file: String, key: String, expected: Double) throws {
        let jpeg = try #require(try RateDistortionCurve.loadAnchors(
            from: anchorFolder.appendingPathComponent("this-machine-pillow.json"))["jpeg"])
        let curve = try #require(try RateDistortionCurve.loadAnchors(
            from: anchorFolder.appendingPathComponent(file))[key])
        let bd = try BjontegaardDelta.rate(reference: jpeg, test: curve)
        #expect(abs(bd - expected) < 0.01, "BD-rate \(bd) vs numpy reference \(expected)")
    }
}
