import Foundation
@testable import NacreEngine

/// Plain double-precision reference implementations (NCHW arrays) for checking the engine.
enum Reference {
    struct Shape { var n, c, h, w: Int; var count: Int { n * c * h * w } }

    static func conv(_ x: [Double], _ s: Shape, weights: [Double], bias: [Double]?, outChannels: Int,
                     kernel k: Int, stride: Int, padding p: Int) -> ([Double], Shape) {
        let oh = (s.h + 2 * p - k) / stride + 1, ow = (s.w + 2 * p - k) / stride + 1
        let os = Shape(n: s.n, c: outChannels, h: oh, w: ow)
        var y = [Double](repeating: 0, count: os.count)
        for n in 0..<s.n { for o in 0..<outChannels { for i in 0..<oh { for j in 0..<ow {
            var acc = bias?[o] ?? 0
            for c in 0..<s.c { for a in 0..<k { for b in 0..<k {
                let hi = i * stride - p + a, wj = j * stride - p + b
                if hi < 0 || hi >= s.h || wj < 0 || wj >= s.w { continue }
                acc += x[((n * s.c + c) * s.h + hi) * s.w + wj] * weights[((o * s.c + c) * k + a) * k + b]
            }}}
            y[((n * outChannels + o) * oh + i) * ow + j] = acc
        }}}}
        return (y, os)
    }

    /// oneDNN deconvolution: y[o][i·s − p + a] += x[c][i] · w[o][c][a].
    static func deconv(_ x: [Double], _ s: Shape, weights: [Double], bias: [Double]?, outChannels: Int,
                       kernel k: Int, stride: Int, padding p: Int, outputPadding op: Int) -> ([Double], Shape) {
        let oh = (s.h - 1) * stride - 2 * p + k + op, ow = (s.w - 1) * stride - 2 * p + k + op
        let os = Shape(n: s.n, c: outChannels, h: oh, w: ow)
        var y = [Double](repeating: 0, count: os.count)
        for n in 0..<s.n { for o in 0..<outChannels {
            for i in 0..<oh { for j in 0..<ow { y[((n * outChannels + o) * oh + i) * ow + j] = bias?[o] ?? 0 } }
            for c in 0..<s.c { for i in 0..<s.h { for j in 0..<s.w {
                let v = x[((n * s.c + c) * s.h + i) * s.w + j]
                for a in 0..<k { for b in 0..<k {
                    let yi = i * stride - p + a, yj = j * stride - p + b
                    if yi < 0 || yi >= oh || yj < 0 || yj >= ow { continue }
                    y[((n * outChannels + o) * oh + yi) * ow + yj] += v * weights[((o * s.c + c) * k + a) * k + b]
                }}
            }}}
        }}
        return (y, os)
    }

    /// GDN / IGDN from the stored (reparametrised) parameters.
    static func gdn(_ x: [Double], _ s: Shape, betaParam: [Double], gammaParam: [Double], inverse: Bool) -> [Double] {
        let ped = Double(GDN.pedestal)
        let bb = Double(GDN.betaBound), gb = Double(GDN.gammaBound)
        let beta = betaParam.map { max($0, bb) * max($0, bb) - ped }
        let gamma = gammaParam.map { max($0, gb) * max($0, gb) - ped }
        var y = x
        let hw = s.h * s.w
        for n in 0..<s.n { for q in 0..<hw { for i in 0..<s.c {
            var u = beta[i]
            for j in 0..<s.c {
                let v = x[(n * s.c + j) * hw + q]
                u += gamma[i * s.c + j] * v * v
            }
            let idx = (n * s.c + i) * hw + q
            y[idx] = inverse ? x[idx] * u.squareRoot() : x[idx] / u.squareRoot()
        }}}
        return y
    }

    static func leakyReLU(_ x: [Double], slope: Double) -> [Double] { x.map { $0 > 0 ? $0 : slope * $0 } }

    static func channelGain(_ x: [Double], _ s: Shape, gains: [Double]) -> [Double] {
        var y = x
        for i in 0..<x.count { y[i] *= gains[(i / (s.h * s.w)) % s.c] }
        return y
    }
}

/// Test fixtures shared by the engine tests.
enum Fixture {
    static func engine(_ precision: Precision = .f32) throws -> Engine {
        try Engine(threads: 2, precision: precision)
    }

    static func randomValues(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in rng.symmetric(scale) }
    }

    static func randomTensor(_ shape: TensorShape, seed: UInt64, scale: Float = 1) throws -> Tensor {
        try Tensor(shape: shape, values: randomValues(shape.count, seed: seed, scale: scale))
    }

    static func refShape(_ s: TensorShape) -> Reference.Shape { .init(n: s.n, c: s.c, h: s.h, w: s.w) }

    static func maxRelativeError(_ a: [Float], _ b: [Double]) -> Double {
        let scale = max(1e-6, b.map { Swift.abs($0) }.max() ?? 0)
        var m = 0.0
        for (x, y) in Swift.zip(a, b) { m = max(m, Swift.abs(Double(x) - y) / scale) }
        return m
    }

    /// 64×64 RGB crop of a real photo (see Fixtures/make_photo_crop.py), as an NCHW tensor in 0...1.
    static func photoCrop() throws -> Tensor {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/photo-crop-64.rgb")
        let bytes = [UInt8](try Data(contentsOf: url))
        precondition(bytes.count == 64 * 64 * 3, "fixture has \(bytes.count) bytes")
        var values = [Float](repeating: 0, count: bytes.count)
        for p in 0..<64 * 64 { for c in 0..<3 { values[c * 4096 + p] = Float(bytes[p * 3 + c]) / 255 } }
        return try Tensor(shape: TensorShape(n: 1, c: 3, h: 64, w: 64), values: values)
    }
}
