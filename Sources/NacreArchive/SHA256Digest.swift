/// A 32-byte SHA-256 digest.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes; throws `invalidArgument` for any other length.
    public init(bytes: [UInt8]) throws(ArchiveError) {
        guard bytes.count == 32 else {
            throw ArchiveError(code: .invalidArgument, message: "A SHA-256 digest has 32 bytes, got \(bytes.count). Pass the output of `SHA256.hash`.")
        }
        self.bytes = bytes
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// All zero bytes: "no digest recorded".
    public static let zero = SHA256Digest(unchecked: [UInt8](repeating: 0, count: 32))

    /// Lower-case hexadecimal, as printed by `sha256sum`.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { hex }
}
