/// Rounding with a straight-through gradient: forward `round(x)` (ties to even), backward identity.
public final class RoundStraightThrough: Layer {
    public let engine: Engine

    public init(engine: Engine) { self.engine = engine }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor { engine.round(x) }

    public func backward(_ dy: Tensor) throws -> Tensor? { dy }
}
