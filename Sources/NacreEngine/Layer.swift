/// A differentiable single-input layer.
///
/// `forward(_:training:)` with `training: true` keeps what `backward` needs; `backward(_:)` takes
/// the gradient of the loss with respect to the last forward's output, adds the parameter
/// gradients into each `Parameter.gradient`, and returns the gradient with respect to the input
/// (or `nil` when the layer was built without input gradients, e.g. the first layer).
public protocol Layer: AnyObject {
    func forward(_ x: Tensor, training: Bool) throws -> Tensor
    func backward(_ dy: Tensor) throws -> Tensor?
    /// Trainable parameters, in a stable order (used by optimizers and weights files).
    var parameters: [Parameter] { get }
}

extension Layer {
    public var parameters: [Parameter] { [] }
}

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

/// Takes the state saved by a training forward, or throws the standard error.
@inline(__always)
func takeSaved<T>(_ saved: inout T?, _ layer: String) throws -> T {
    guard let s = saved else {
        throw EngineError(.missingForwardState,
                          "\(layer).backward called without a preceding forward(training: true); run forward in training mode first")
    }
    saved = nil
    return s
}
