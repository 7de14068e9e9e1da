/// Additive uniform noise U(−½, ½) in training (the quantisation proxy), identity otherwise.
/// Noise comes from a counter-based hash of (seed, call number, element), so it is reproducible
/// for a given seed regardless of the thread count. Gradient: identity.
public final class UniformNoise: Layer {
    public let engine: Engine
    public let seed: UInt64
    private var calls: UInt64 = 0

    public init(engine: Engine, seed: UInt64) {
        self.engine = engine
        self.seed = seed
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard training else { return x }
        calls &+= 1
        let base = (seed ^ 0xA076_1D64_78BD_642F) &* 0x9E37_79B9_7F4A_7C15 &+ calls &* 0xD1B5_4A32_D192_ED03
        let y = x.emptyLike()
        let xd = x.data, yd = y.data
        engine.parallelFor(x.count) { r in
            for i in r {
                var state = base &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
                let bits = SeededRandom.splitMix(&state)
                yd[i] = xd[i] + (Float(bits >> 40) * 0x1p-24 - 0.5)
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) throws -> Tensor? { dy }
}
