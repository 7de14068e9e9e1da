/// An error raised by the compute engine: a stable `code` plus a message that says what went
/// wrong and what to do about it.
public struct EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stable set of engine error codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// oneDNN refused or failed a call (the message carries the oneDNN status).
        public static let backendFailure = Code(name: "backendFailure")
        /// oneDNN has no implementation for the requested shape, type or layout.
        public static let unimplemented = Code(name: "unimplemented")
        /// Two tensors (or a tensor and a layer) disagree on shape.
        public static let shapeMismatch = Code(name: "shapeMismatch")
        /// An argument is out of range (negative size, bad stride, wrong value count...).
        public static let invalidArgument = Code(name: "invalidArgument")
        /// `backward` was called without a preceding training-mode `forward`.
        public static let missingForwardState = Code(name: "missingForwardState")
        /// A weights file could not be read or written.
        public static let io = Code(name: "io")
        /// A weights file is malformed, truncated, or fails its checksum.
        public static let corruptWeights = Code(name: "corruptWeights")
        /// A weights file does not hold the tensors a model expects.
        public static let weightsMismatch = Code(name: "weightsMismatch")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "EngineError.\(code): \(message)" }
}
