/// A denoiser could not be built, read, trained or applied.
///
/// Errors carry a stable `code` and a `message` saying what went wrong and what to do about it.
public struct DenoiserError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable codes, for scripts and tests.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// A caller passed a value outside its documented range.
        public static let invalidArgument = Code(name: "invalid_argument")
        /// A denoiser block (or a model frame carrying one) is damaged: bad magic, checksum, length, value.
        public static let corruptBlock = Code(name: "corrupt_denoiser_block")
        /// The block was written by a newer format version or uses features this build does not know.
        public static let unsupportedVersion = Code(name: "unsupported_denoiser_version")
        /// The denoiser was trained for another decoder than the one that decoded the image.
        public static let wrongDecoder = Code(name: "wrong_decoder")
        /// No usable training pairs were found or made.
        public static let noTrainingData = Code(name: "no_training_data")
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
