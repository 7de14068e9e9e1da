/// An error from the codec: model, training, encoding or decoding, and the restore denoiser.
public struct CodecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable codes, for scripts and tests.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// A caller passed a value outside its documented range.
        public static let invalidArgument = Code(name: "invalid_argument")
        /// No usable training images were found.
        public static let noTrainingData = Code(name: "no_training_data")
        /// A model or checkpoint file does not match what this build expects.
        public static let incompatibleModel = Code(name: "incompatible_model")
        /// An encoded image is malformed or does not fit its model.
        public static let corruptBitstream = Code(name: "corrupt_bitstream")
        /// An image is larger than the codec accepts.
        public static let imageTooLarge = Code(name: "image_too_large")
        /// A denoiser block (or a model frame carrying one) is damaged: bad magic, checksum, length, value.
        public static let corruptDenoiserBlock = Code(name: "corrupt_denoiser_block")
        /// A denoiser block was written by a newer format version or uses features this build does not know.
        public static let unsupportedDenoiserVersion = Code(name: "unsupported_denoiser_version")
        /// A denoiser was trained for another decoder than the one that decoded the image.
        public static let wrongDecoder = Code(name: "wrong_decoder")
        /// A state the code should never reach; a bug to report.
        public static let internalInconsistency = Code(name: "internal_inconsistency")
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
