/// The logical shape of an activation tensor: batch, channels, height, width.
public struct TensorShape: Hashable, Sendable, CustomStringConvertible {
    public var n: Int
    public var c: Int
    public var h: Int
    public var w: Int

    public init(n: Int, c: Int, h: Int, w: Int) {
        self.n = n
        self.c = c
        self.h = h
        self.w = w
    }

    /// Number of elements.
    public var count: Int { n * c * h * w }
    var dims: [Int] { [n, c, h, w] }
    public var description: String { "\(n)×\(c)×\(h)×\(w)" }

    /// Throws unless every dimension is positive and the element count fits in memory terms.
    func validate() throws {
        guard n > 0, c > 0, h > 0, w > 0 else {
            throw EngineError(.invalidArgument, "tensor shape \(self) has a non-positive dimension; every dimension must be ≥ 1")
        }
        var total = 4  // bytes per element
        for d in [n, c, h, w] {
            let (t, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, t <= 1 << 40 else {
                throw EngineError(.invalidArgument, "tensor shape \(self) is too large; tile the input into smaller pieces")
            }
            total = t
        }
    }
}
