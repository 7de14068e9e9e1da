/// An error from entropy coding: building tables, encoding latents, or decoding a bitstream.
///
/// `code` is stable and meant for programs; `message` says what went wrong and what to do.
public struct EntropyCodingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stable category of an entropy-coding error.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The bitstream ended before every symbol was decoded.
        public static let truncatedStream = Code("truncatedStream")
        /// The bitstream is inconsistent (bad final state, trailing bytes, impossible escape).
        public static let corruptStream = Code("corruptStream")
        /// Serialized entropy tables are malformed.
        public static let invalidTables = Code("invalidTables")
        /// A probability mass function cannot be turned into a table (non-finite, too long...).
        public static let invalidDistribution = Code("invalidDistribution")
        /// The caller passed inconsistent arguments (lengths, table indices).
        public static let invalidArgument = Code("invalidArgument")
        /// Integer network parameters are malformed or could overflow the 32-bit accumulator.
        public static let invalidNetwork = Code("invalidNetwork")
    }

    /// The stable error category.
    public let code: Code
    /// What went wrong and what to do about it.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "EntropyCodingError.\(code): \(message)" }
}
