import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// The champion/challenger gate in both directions, with tiny models on real photo crops.
struct ModelGateTests {
    /// The tiny model with its synthesis weights disturbed: a decoder that is clearly worse.
    static func worseModel() throws -> CodecModel {
        let model = try CodecFixtures.tinyModel()
        var generator = SeededGenerator(seed: 5)
        for parameter in model.network.synthesis.parameters where parameter.shape.count == 4 {
            let values = parameter.values().map { $0 * Float.random(in: 0.6...1.4, using: &generator) }
            try parameter.setValues(values)
        }
        // Serialized and reloaded, so its identifier matches its (changed) decoder bytes.
        return try CodecModel.load(model.serialized(), engine: try Engine(threads: 1))
    }

    @Test func aWorseChallengerIsRejectedAndABetterOneIsPromoted() throws {
        let good = try CodecFixtures.tinyModel(), worse = try Self.worseModel()
        #expect(good.identifier != worse.identifier)
        let crops = try (0..<3).map(CodecFixtures.photo)
        let gate = try ModelGate(qualities: [10, 40, 70, 100], marginPercent: -1)

        let rejected = try gate.judge(champion: good, challenger: worse, crops: crops)
        #expect(!rejected.promote, "\(rejected.summary)")
        #expect(try #require(rejected.bdRatePercent) > 0)

        let promoted = try gate.judge(champion: worse, challenger: good, crops: crops)
        #expect(promoted.promote, "\(promoted.summary)")
        #expect(try #require(promoted.bdRatePercent) < -1)

        // Against itself nothing changes: BD-rate 0, not below the −1 % margin.
        let same = try gate.judge(champion: good, challenger: good, crops: crops)
        #expect(abs(try #require(same.bdRatePercent)) < 1e-9 && !same.promote)
    }

    /// A challenger whose curve shares no PSNR range with the champion's has no BD-rate: it is
    /// rejected with a verdict that says so, not failed.
    @Test func anUndefinedBDRateIsARejection() throws {
        let good = try CodecFixtures.tinyModel()
        let broken = try CodecFixtures.tinyModel()
        for parameter in broken.network.synthesis.parameters where parameter.shape.count == 4 {
            try parameter.setValues([Float](repeating: 0, count: parameter.count))
        }
        let flat = try CodecModel.load(broken.serialized(), engine: try Engine(threads: 1))
        let gate = try ModelGate(qualities: [10, 40, 70, 100], marginPercent: -1)
        let verdict = try gate.judge(champion: good, challenger: flat, crops: try (0..<2).map(CodecFixtures.photo))
        #expect(verdict.bdRatePercent == nil && !verdict.promote, "\(verdict.summary)")
        #expect(verdict.summary.contains("undefined: rejected"), "\(verdict.summary)")
    }

    /// With denoisers, each model's crops go through its own: a denoiser that changes pixels
    /// moves that model's curve, and denoisers are given for both models or neither.
    @Test func eachModelIsMeasuredThroughItsOwnDenoiser() throws {
        let model = try CodecFixtures.tinyModel(), worse = try Self.worseModel()
        let crops = try (0..<2).map(CodecFixtures.photo)
        let gate = try ModelGate(qualities: [10, 40, 70, 100])
        let identity = try Denoiser(architecture: DenoiserArchitecture(hiddenChannels: 16, convolutions: 2),
                                    decoderIdentifier: model.identifier, engine: model.network.engine)
        let altering = try Denoiser(architecture: identity.architecture, decoderIdentifier: model.identifier, engine: model.network.engine)
        // A fresh denoiser is the identity (its last layer is zero); a bias on that layer is not.
        let lastBias = try #require(altering.parameters.last)
        try lastBias.setValues([Float](repeating: 0.02, count: lastBias.count))

        let plain = try gate.curve(of: model, crops: crops, method: "plain")
        let throughIdentity = try gate.curve(of: model, crops: crops, method: "identity", denoiser: identity)
        let throughAltering = try gate.curve(of: model, crops: crops, method: "altering", denoiser: altering)
        #expect(throughIdentity.psnr == plain.psnr && throughIdentity.bpp == plain.bpp)
        #expect(throughAltering.psnr != plain.psnr && throughAltering.bpp == plain.bpp, "\(throughAltering.psnr) vs \(plain.psnr)")

        #expect(throws: CodecError.self) { try gate.judge(champion: model, challenger: model, crops: crops, championDenoiser: identity) }
        #expect(throws: CodecError.self, "a denoiser trained for another decoder") {
            try gate.curve(of: worse, crops: crops, method: "worse", denoiser: identity)
        }
        let same = try gate.judge(champion: model, challenger: model, crops: crops, championDenoiser: identity, challengerDenoiser: identity)
        #expect(abs(try #require(same.bdRatePercent)) < 1e-9 && !same.promote)
    }

    @Test func theGateNeedsFourQualitiesAndCrops() throws {
        #expect(throws: CodecError.self) { try ModelGate(qualities: [10, 50, 90]) }
        #expect(throws: CodecError.self) { try ModelGate(qualities: [10, 50, 90, 101]) }
        let gate = try ModelGate()
        #expect(gate.qualities.count >= 4)
        let model = try CodecFixtures.tinyModel()
        #expect(throws: CodecError.self) { try gate.judge(champion: model, challenger: model, crops: []) }
    }
}
