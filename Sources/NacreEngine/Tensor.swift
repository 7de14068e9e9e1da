/// A float32 activation tensor in oneDNN memory, in the engine's layout for its channel count
/// (nChw16c when channels are a multiple of 16, plain NCHW otherwise). Read and write values in
/// plain NCHW order with `values()` / `init(shape:values:)` / `setValues(_:)`; elementwise kernels
/// use `data` directly since, without block padding, each element appears exactly once.
public final class Tensor: @unchecked Sendable {
    public let shape: TensorShape
    let layout: TensorLayout
    let buffer: RawBuffer
    /// The elements in storage order (`shape.count` floats).
    public let data: UnsafeMutablePointer<Float>

    /// Number of elements.
    public var count: Int { shape.count }

    /// A tensor with unspecified contents (use when every element is about to be written).
    init(uninitialized shape: TensorShape) {
        self.shape = shape
        layout = TensorLayout.preferred(channels: shape.c)
        buffer = RawBuffer(byteCount: shape.count * 4)
        data = buffer.floats(shape.count)
    }

    /// A zero-filled tensor.
    public convenience init(zeros shape: TensorShape) throws {
        try shape.validate()
        self.init(uninitialized: shape)
        data.initialize(repeating: 0, count: count)
    }

    /// A tensor with every element equal to `value`.
    public convenience init(shape: TensorShape, repeating value: Float) throws {
        try shape.validate()
        self.init(uninitialized: shape)
        data.initialize(repeating: value, count: count)
    }

    /// A tensor holding `values` given in plain NCHW order.
    public convenience init(shape: TensorShape, values: [Float]) throws {
        try shape.validate()
        guard values.count == shape.count else {
            throw EngineError(.shapeMismatch, "got \(values.count) values for a \(shape) tensor (needs \(shape.count))")
        }
        self.init(uninitialized: shape)
        try setValues(values)
    }

    /// A tensor of the same shape with unspecified contents.
    func emptyLike() -> Tensor { Tensor(uninitialized: shape) }

    /// Memory descriptor for this tensor as f32 (or another element type in the same layout).
    func desc(_ type: DNNLDataType = .f32) throws -> DNNLMemoryDesc {
        try DNNLMemoryDesc(dims: shape.dims, type: type, layout: layout.dnnl)
    }

    /// Storage index of logical element (n, c, h, w).
    @inline(__always)
    public func storageIndex(n: Int, c: Int, h: Int, w: Int) -> Int {
        switch layout {
        case .nchw:
            return ((n * shape.c + c) * shape.h + h) * shape.w + w
        case .nChw16c:
            return (((n * (shape.c / 16) + c / 16) * shape.h + h) * shape.w + w) * 16 + (c & 15)
        }
    }

    /// The element at logical position (n, c, h, w).
    public subscript(n: Int, c: Int, h: Int, w: Int) -> Float {
        get { data[storageIndex(n: n, c: c, h: h, w: w)] }
        set { data[storageIndex(n: n, c: c, h: h, w: w)] = newValue }
    }

    /// All values in plain NCHW order.
    public func values() -> [Float] {
        if layout == .nchw { return Array(UnsafeBufferPointer(start: data, count: count)) }
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { dst in
            let hw = shape.h * shape.w, cb = shape.c / 16
            for n in 0..<shape.n {
                for b in 0..<cb {
                    let src = data + (n * cb + b) * hw * 16
                    for i in 0..<hw {
                        for k in 0..<16 { dst[(n * shape.c + b * 16 + k) * hw + i] = src[i * 16 + k] }
                    }
                }
            }
        }
        return out
    }

    /// Overwrites all values from plain NCHW order.
    public func setValues(_ values: [Float]) throws {
        guard values.count == count else {
            throw EngineError(.shapeMismatch, "got \(values.count) values for a \(shape) tensor (needs \(count))")
        }
        values.withUnsafeBufferPointer { src in
            if layout == .nchw {
                data.update(from: src.baseAddress!, count: count)
                return
            }
            let hw = shape.h * shape.w, cb = shape.c / 16
            for n in 0..<shape.n {
                for b in 0..<cb {
                    let dst = data + (n * cb + b) * hw * 16
                    for i in 0..<hw {
                        for k in 0..<16 { dst[i * 16 + k] = src[(n * shape.c + b * 16 + k) * hw + i] }
                    }
                }
            }
        }
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) {
        data.update(repeating: value, count: count)
    }

    /// An independent copy.
    public func copy() -> Tensor {
        let t = emptyLike()
        t.data.update(from: data, count: count)
        return t
    }

    func requireShape(_ other: TensorShape, _ what: String) throws {
        guard shape == other else {
            throw EngineError(.shapeMismatch, "\(what): tensor is \(shape) but \(other) was expected")
        }
    }
}
