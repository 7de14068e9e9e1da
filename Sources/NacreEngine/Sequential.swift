/// Layers applied one after the other.
public final class Sequential: Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        var t = x
        for l in layers { t = try l.forward(t, training: training) }
        return t
    }

    public func backward(_ dy: Tensor) throws -> Tensor? {
        var g: Tensor? = dy
        for l in layers.reversed() {
            guard let cur = g else { return nil }
            g = try l.backward(cur)
        }
        return g
    }

    public var parameters: [Parameter] { layers.flatMap { $0.parameters } }
}
