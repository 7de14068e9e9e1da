/// A trainable tensor in plain row-major layout (OIHW for convolution weights, oneDNN's
/// (out, in, kh, kw) order for transposed convolutions too), with its gradient accumulator.
/// Layers reorder it into whatever layout their primitives want.
public final class Parameter: @unchecked Sendable {
    /// Unique within a model, e.g. "g_a.0.weight"; the key in weights files.
    public let name: String
    public let shape: [Int]
    public let count: Int
    /// Values (plain layout). Call `markUpdated()` after writing through this pointer.
    public let value: UnsafeMutablePointer<Float>
    /// Gradient accumulator; `backward` adds to it, `zeroGradient()` clears it.
    public let gradient: UnsafeMutablePointer<Float>
    /// Changes whenever the values change, so layers know when cached reorders are stale.
    public private(set) var version = 0

    public init(name: String, shape: [Int], initialValue: Float = 0) {
        self.name = name
        self.shape = shape
        count = shape.reduce(1, *)
        value = .allocate(capacity: max(1, count))
        value.initialize(repeating: initialValue, count: count)
        gradient = .allocate(capacity: max(1, count))
        gradient.initialize(repeating: 0, count: count)
    }

    deinit {
        value.deallocate()
        gradient.deallocate()
    }

    public func values() -> [Float] { Array(UnsafeBufferPointer(start: value, count: count)) }
    public func gradients() -> [Float] { Array(UnsafeBufferPointer(start: gradient, count: count)) }

    public func setValues(_ values: [Float]) throws {
        guard values.count == count else {
            throw EngineError(.shapeMismatch, "parameter \(name) has \(count) values (shape \(shape)), got \(values.count)")
        }
        values.withUnsafeBufferPointer { value.update(from: $0.baseAddress!, count: count) }
        markUpdated()
    }

    public func zeroGradient() { gradient.update(repeating: 0, count: count) }

    /// Records that `value` was modified in place.
    public func markUpdated() { version &+= 1 }
}
