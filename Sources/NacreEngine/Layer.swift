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
