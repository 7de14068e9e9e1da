import Foundation

/// Elementwise arithmetic and reductions on tensors, run in parallel on the engine's threads.
/// Binary operations require equal shapes (hence equal layouts).
extension Engine {
    /// `out[i] = f(a[i])` into a new tensor.
    public func map(_ a: Tensor, _ f: (Float) -> Float) -> Tensor {
        let out = a.emptyLike()
        let x = a.data, y = out.data
        parallelFor(a.count) { r in for i in r { y[i] = f(x[i]) } }
        return out
    }

    /// `out[i] = f(a[i], b[i])` into a new tensor.
    public func zip(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) throws -> Tensor {
        try b.requireShape(a.shape, "zip")
        let out = a.emptyLike()
        let x = a.data, z = b.data, y = out.data
        parallelFor(a.count) { r in for i in r { y[i] = f(x[i], z[i]) } }
        return out
    }

    /// `a + b`.
    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try b.requireShape(a.shape, "add")
        let out = a.emptyLike()
        let x = a.data, z = b.data, y = out.data
        parallelFor(a.count) { r in for i in r { y[i] = x[i] + z[i] } }
        return out
    }

    /// `a += b` (e.g. summing the gradients of a tensor used twice).
    public func addInPlace(_ a: Tensor, _ b: Tensor) throws {
        try b.requireShape(a.shape, "addInPlace")
        let x = a.data, z = b.data
        parallelFor(a.count) { r in for i in r { x[i] += z[i] } }
    }

    /// `a - b`.
    public func subtract(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try b.requireShape(a.shape, "subtract")
        let out = a.emptyLike()
        let x = a.data, z = b.data, y = out.data
        parallelFor(a.count) { r in for i in r { y[i] = x[i] - z[i] } }
        return out
    }

    /// `a ⊙ b`. Gradients: `multiplyBackward`.
    public func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try b.requireShape(a.shape, "multiply")
        let out = a.emptyLike()
        let x = a.data, z = b.data, y = out.data
        parallelFor(a.count) { r in for i in r { y[i] = x[i] * z[i] } }
        return out
    }

    /// Gradients of `a ⊙ b`: `(dy ⊙ b, dy ⊙ a)`.
    public func multiplyBackward(_ dy: Tensor, _ a: Tensor, _ b: Tensor) throws -> (da: Tensor, db: Tensor) {
        (try multiply(dy, b), try multiply(dy, a))
    }

    /// `s · a`.
    public func scale(_ a: Tensor, by s: Float) -> Tensor {
        let out = a.emptyLike()
        let x = a.data, y = out.data
        parallelFor(a.count) { r in for i in r { y[i] = s * x[i] } }
        return out
    }

    /// `|a|`; gradient: `absBackward`.
    public func abs(_ a: Tensor) -> Tensor { map(a) { Swift.abs($0) } }

    /// Gradient of `|a|`: `dy · sign(a)` (0 at 0).
    public func absBackward(_ dy: Tensor, _ a: Tensor) throws -> Tensor {
        try zip(dy, a) { g, x in x > 0 ? g : (x < 0 ? -g : 0) }
    }

    /// Natural log; gradient `dy / a`.
    public func log(_ a: Tensor) -> Tensor { map(a) { Foundation.log($0) } }

    /// Rounds to the nearest integer, ties to even (like `torch.round`).
    public func round(_ a: Tensor) -> Tensor { map(a) { $0.rounded(.toNearestOrEven) } }

    /// Multiplies every channel c by `gains[c]` (gain vectors on latent channels).
    public func multiplyChannels(_ x: Tensor, gains: [Float]) throws -> Tensor {
        guard gains.count == x.shape.c else {
            throw EngineError(.shapeMismatch, "multiplyChannels: \(gains.count) gains for \(x.shape.c) channels")
        }
        let out = x.emptyLike()
        gains.withUnsafeBufferPointer { g in
            forEachChannelRun(x) { range, channel, step in
                if step == 1 {
                    let k = g[channel]
                    for i in range { out.data[i] = x.data[i] * k }
                } else {
                    for i in range { out.data[i] = x.data[i] * g[channel + (i - range.lowerBound) & 15] }
                }
            }
        }
        return out
    }

    /// Gradients of `multiplyChannels`: `dx = dy · gains[c]`, `dGains[c] = Σ dy · x` over channel c.
    public func multiplyChannelsBackward(_ dy: Tensor, _ x: Tensor, gains: [Float]) throws -> (dx: Tensor, dGains: [Float]) {
        try dy.requireShape(x.shape, "multiplyChannelsBackward")
        let dx = try multiplyChannels(dy, gains: gains)
        var dg = [Double](repeating: 0, count: x.shape.c)
        forEachChannelRun(x) { range, channel, step in
            for i in range {
                dg[channel + (step == 1 ? 0 : (i - range.lowerBound) & 15)] += Double(dy.data[i] * x.data[i])
            }
        }
        return (dx, dg.map { Float($0) })
    }

    /// Visits storage in runs: `body(range, firstChannel, step)` where `step` is 1 when the run is a
    /// single channel (NCHW plane) and 16 when channels cycle firstChannel..<firstChannel+16
    /// element by element (nChw16c block).
    func forEachChannelRun(_ x: Tensor, _ body: (Range<Int>, Int, Int) throws -> Void) rethrows {
        let s = x.shape, hw = s.h * s.w
        switch x.layout {
        case .nchw:
            for n in 0..<s.n {
                for c in 0..<s.c {
                    let start = (n * s.c + c) * hw
                    try body(start..<start + hw, c, 1)
                }
            }
        case .nChw16c:
            for n in 0..<s.n {
                for b in 0..<s.c / 16 {
                    let start = (n * (s.c / 16) + b) * hw * 16
                    try body(start..<start + hw * 16, b * 16, 16)
                }
            }
        }
    }

    /// Σ a (double accumulation).
    public func sum(_ a: Tensor) -> Double {
        let x = a.data
        return parallelSum(a.count) { r in
            var s = 0.0
            for i in r { s += Double(x[i]) }
            return s
        }
    }

    /// Mean of a.
    public func mean(_ a: Tensor) -> Double { sum(a) / Double(a.count) }

    /// Σ f(a[i]) (double accumulation), e.g. `sumMap(p) { -log2($0) }` for a rate in bits.
    public func sumMap(_ a: Tensor, _ f: (Float) -> Double) -> Double {
        let x = a.data
        return parallelSum(a.count) { r in
            var s = 0.0
            for i in r { s += f(x[i]) }
            return s
        }
    }

    /// Mean squared error between equal-shaped tensors.
    public func meanSquaredError(_ a: Tensor, _ b: Tensor) throws -> Double {
        try b.requireShape(a.shape, "meanSquaredError")
        let x = a.data, z = b.data
        return parallelSum(a.count) { r in
            var s = 0.0
            for i in r {
                let d = Double(x[i] - z[i])
                s += d * d
            }
            return s
        } / Double(a.count)
    }

    /// Gradient of `weight · meanSquaredError(a, b)` with respect to `a`: `2·weight·(a − b)/count`.
    public func meanSquaredErrorGradient(_ a: Tensor, _ b: Tensor, weight: Float = 1) throws -> Tensor {
        try b.requireShape(a.shape, "meanSquaredErrorGradient")
        let k = 2 * weight / Float(a.count)
        return try zip(a, b) { x, z in k * (x - z) }
    }
}
