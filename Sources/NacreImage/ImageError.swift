/// An error from reading, writing or measuring images.
///
/// `code` is stable and meant for programs (the daemon turns it into a quarantine reason);
/// `message` says what went wrong and what to do about it, for people.
public struct ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure. Compare against the named static codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The input has no bytes at all.
        public static let empty = Code("empty")
        /// The input does not start with the PNG signature: it is some other kind of file.
        public static let notPNG = Code("notPNG")
        /// The input is a PNG that ends before its IEND chunk.
        public static let truncated = Code("truncated")
        /// The PNG is damaged: bad CRC, bad compressed data, invalid header values.
        public static let corrupt = Code("corrupt")
        /// The image is larger than the configured `ImageLimits` (possibly a decompression bomb).
        public static let tooLarge = Code("tooLarge")
        /// The PNG uses a feature this reader or writer does not handle.
        public static let unsupported = Code("unsupported")
        /// A file could not be opened or read, or is not a regular file.
        public static let unreadable = Code("unreadable")
        /// A `PixelBuffer` was built from arrays whose sizes do not match its dimensions.
        public static let invalidPixels = Code("invalidPixels")
        /// Two images given to a metric have different dimensions.
        public static let sizeMismatch = Code("sizeMismatch")
        /// An image is too small for the requested metric (MS-SSIM needs 161 px a side).
        public static let tooSmall = Code("tooSmall")
    }

    /// The stable kind of failure.
    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "ImageError.\(code): \(message)" }
}
