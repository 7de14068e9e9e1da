import Foundation
import NacreEngine

/// The benchmark's model: a Ballé-2018 scale hyperprior of CompressAI's `ScaleHyperprior(N, M)`
/// shape (g_a, h_a, h_s, g_s with GDN/IGDN), trained with additive noise and a Gaussian rate on
/// y. The rate on z is a fixed unit Gaussian stand-in for CompressAI's factorized prior; z has
/// 1/16 of y's elements, so its cost is negligible next to the convolutions being measured.
final class BenchHyperprior {
    let engine: Engine
    let gA: Sequential
    let hA: Sequential
    let hS: Sequential
    let gS: Sequential
    let noiseY: UniformNoise
    let noiseZ: UniformNoise

    init(engine: Engine, n: Int = 64, m: Int = 96, seed: UInt64 = 1) throws {
        self.engine = engine
        var rng = SeededRandom(seed: seed)
        func conv(_ name: String, _ i: Int, _ o: Int, k: Int = 5, s: Int = 2, first: Bool = false) throws -> Conv2D {
            try Conv2D(engine: engine, name: name, inChannels: i, outChannels: o, kernel: k, stride: s,
                       computesInputGradient: !first, rng: &rng)
        }
        func deconv(_ name: String, _ i: Int, _ o: Int) throws -> ConvTranspose2D {
            try ConvTranspose2D(engine: engine, name: name, inChannels: i, outChannels: o, kernel: 5, stride: 2, rng: &rng)
        }
        gA = Sequential([
            try conv("g_a.0", 3, n, first: true), try GDN(engine: engine, name: "g_a.1", channels: n),
            try conv("g_a.2", n, n), try GDN(engine: engine, name: "g_a.3", channels: n),
            try conv("g_a.4", n, n), try GDN(engine: engine, name: "g_a.5", channels: n),
            try conv("g_a.6", n, m),
        ])
        hA = Sequential([
            try conv("h_a.0", m, n, k: 3, s: 1), ReLU(engine: engine),
            try conv("h_a.2", n, n), ReLU(engine: engine),
            try conv("h_a.4", n, n),
        ])
        hS = Sequential([
            try deconv("h_s.0", n, n), ReLU(engine: engine),
            try deconv("h_s.2", n, n), ReLU(engine: engine),
            try conv("h_s.4", n, m, k: 3, s: 1), ReLU(engine: engine),
        ])
        gS = Sequential([
            try deconv("g_s.0", m, n), try GDN(engine: engine, name: "g_s.1", channels: n, inverse: true),
            try deconv("g_s.2", n, n), try GDN(engine: engine, name: "g_s.3", channels: n, inverse: true),
            try deconv("g_s.4", n, n), try GDN(engine: engine, name: "g_s.5", channels: n, inverse: true),
            try deconv("g_s.6", n, 3),
        ])
        noiseY = UniformNoise(engine: engine, seed: seed &+ 1)
        noiseZ = UniformNoise(engine: engine, seed: seed &+ 2)
    }

    var parameters: [Parameter] { gA.parameters + hA.parameters + hS.parameters + gS.parameters }

    struct StepResult {
        var loss: Double
        var bpp: Double
        var mse: Double
    }

    /// One full training step: forward, rate-distortion loss, backward, optimizer update.
    func trainStep(_ x: Tensor, lambda: Double, optimizer: Adam) throws -> StepResult {
        optimizer.zeroGradients()
        let y = try gA.forward(x, training: true)
        let z = try hA.forward(engine.abs(y), training: true)
        let zTilde = try noiseZ.forward(z, training: true)
        let scales = try hS.forward(zTilde, training: true)
        let yTilde = try noiseY.forward(y, training: true)
        let xHat = try gS.forward(yTilde, training: true)

        let pixels = Double(x.shape.n * x.shape.h * x.shape.w)
        let (bitsY, dYRate, dScales) = try BenchHyperprior.gaussianBits(yTilde, scales: scales)
        let unit = try Tensor(shape: zTilde.shape, values: [Float](repeating: 1, count: zTilde.count))
        let (bitsZ, dZRate, _) = try BenchHyperprior.gaussianBits(zTilde, scales: unit)
        let mse = try engine.meanSquaredError(xHat, x)
        let distortionWeight = lambda * 255 * 255
        let loss = (bitsY + bitsZ) / pixels + distortionWeight * mse

        // Backward. Rate gradients are in bits; the loss divides them by the pixel count.
        let rateScale = Float(1 / pixels)
        let dXHat = try engine.meanSquaredErrorGradient(xHat, x, weight: Float(distortionWeight))
        let dYTilde = try gS.backward(dXHat)!
        try engine.addInPlace(dYTilde, engine.scale(dYRate, by: rateScale))
        let dZTilde = try hS.backward(engine.scale(dScales, by: rateScale))!
        try engine.addInPlace(dZTilde, engine.scale(dZRate, by: rateScale))
        let dAbsY = try hA.backward(dZTilde)!
        try engine.addInPlace(dYTilde, engine.absBackward(dAbsY, y))
        _ = try gA.backward(dYTilde)
        try optimizer.step()
        return StepResult(loss: loss, bpp: (bitsY + bitsZ) / pixels, mse: mse)
    }

    /// Bits of `v` under a zero-mean Gaussian of scale `max(σ, 0.11)` integrated over a unit bin,
    /// with gradients with respect to v and σ.
    static func gaussianBits(_ v: Tensor, scales: Tensor) throws -> (Double, Tensor, Tensor) {
        let values = v.values(), sigmas = scales.values()
        var dv = [Float](repeating: 0, count: values.count), ds = dv
        var bits = 0.0
        let invSqrt2 = 1 / 2.0.squareRoot(), invSqrt2Pi = 1 / (2 * Double.pi).squareRoot()
        for i in 0..<values.count {
            let x = Double(values[i]), a0 = Swift.abs(x)
            let bounded = Double(sigmas[i]) < 0.11
            let s = max(Double(sigmas[i]), 0.11)
            let a = (0.5 - a0) / s, b = (-0.5 - a0) / s
            let lik = 0.5 * erfc(-a * invSqrt2) - 0.5 * erfc(-b * invSqrt2)
            if lik < 1e-9 {
                bits += -log2(1e-9)
                continue
            }
            bits += -log2(lik)
            let pa = invSqrt2Pi * exp(-0.5 * a * a), pb = invSqrt2Pi * exp(-0.5 * b * b)
            let k = -1 / (lik * M_LN2)
            dv[i] = Float(k * (pb - pa) / s * (x >= 0 ? 1 : -1))
            ds[i] = bounded ? 0 : Float(k * (b * pb - a * pa) / s)
        }
        return (bits, try Tensor(shape: v.shape, values: dv), try Tensor(shape: v.shape, values: ds))
    }
}
