/// An error from the evaluation tools (rate-distortion curves, BD-rate).
public struct EvaluationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable codes, for scripts and tests.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// An anchor file that is not in the expected JSON shape.
        public static let badAnchorFile = Code(name: "bad_anchor_file")
        /// A curve with too few points, or two curves whose quality ranges do not overlap.
        public static let unusableCurve = Code(name: "unusable_curve")
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String

    public var description: String { "\(code): \(message)" }
}
