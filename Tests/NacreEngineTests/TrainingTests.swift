import Testing
@testable import NacreEngine

@Suite struct TrainingTests {
    /// A tiny GDN autoencoder (two stride-2 levels, noise on the bottleneck) trained on a real
    /// photo crop: the reconstruction loss must fall clearly within a few dozen Adam steps.
    @Test(arguments: Precision.allCases)
    func tinyAutoencoderLossFalls(_ precision: Precision) throws {
        let engine = try Fixture.engine(precision)
        var rng = SeededRandom(seed: 2024)
        let model = Sequential([
            try Conv2D(engine: engine, name: "enc0", inChannels: 3, outChannels: 16, kernel: 5, stride: 2,
                       computesInputGradient: false, rng: &rng),
            try GDN(engine: engine, name: "gdn0", channels: 16),
            try Conv2D(engine: engine, name: "enc1", inChannels: 16, outChannels: 16, kernel: 5, stride: 2, rng: &rng),
            UniformNoise(engine: engine, seed: 7),
            try ConvTranspose2D(engine: engine, name: "dec0", inChannels: 16, outChannels: 16, kernel: 5, stride: 2, rng: &rng),
            try GDN(engine: engine, name: "igdn0", channels: 16, inverse: true),
            ReLU(engine: engine, negativeSlope: 0.01),
            try ConvTranspose2D(engine: engine, name: "dec1", inChannels: 16, outChannels: 3, kernel: 5, stride: 2, rng: &rng),
        ])
        let x = try Fixture.photoCrop()
        let adam = Adam(parameters: model.parameters,
                        settings: .init(schedule: .constant(5e-3), maxGradientNorm: 10))
        var losses: [Double] = []
        for _ in 0..<40 {
            adam.zeroGradients()
            let y = try model.forward(x, training: true)
            #expect(y.shape == x.shape)
            losses.append(try engine.meanSquaredError(y, x))
            _ = try model.backward(try engine.meanSquaredErrorGradient(y, x))
            try adam.step()
        }
        let first = losses[0], last = losses.suffix(5).reduce(0, +) / 5
        #expect(losses.allSatisfy { $0.isFinite })
        #expect(last < 0.3 * first, "loss \(first) → \(last): \(losses)")
    }
}
