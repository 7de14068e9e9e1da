/// ReLU, or LeakyReLU with `negativeSlope > 0`: `y = x > 0 ? x : slope·x`.
public final class ReLU: Layer {
    public let negativeSlope: Float
    public let engine: Engine
    private var saved: Tensor?

    public init(engine: Engine, negativeSlope: Float = 0) {
        self.engine = engine
        self.negativeSlope = negativeSlope
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        let s = negativeSlope
        let y = engine.map(x) { $0 > 0 ? $0 : s * $0 }
        saved = training ? x : nil
        return y
    }

    public func backward(_ dy: Tensor) throws -> Tensor? {
        let x = try takeSaved(&saved, "ReLU")
        let s = negativeSlope
        return try engine.zip(dy, x) { g, v in v > 0 ? g : s * g }
    }
}
