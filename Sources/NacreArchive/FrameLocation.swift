/// Where a frame lies in the archive and the CRC-32C of its stored bytes.
public struct FrameLocation: Hashable, Sendable {
    /// What the frame holds.
    public var kind: FrameKind
    /// Byte offset of the frame's first byte (its magic).
    public var offset: UInt64
    /// Stored length of the whole frame in bytes, header and zstd checksum included.
    public var length: UInt64
    /// CRC-32C of the frame's `length` stored bytes.
    public var checksum: UInt32

    public init(kind: FrameKind, offset: UInt64, length: UInt64, checksum: UInt32) {
        self.kind = kind
        self.offset = offset
        self.length = length
        self.checksum = checksum
    }

    /// Offset one past the frame's last byte.
    public var end: UInt64 { offset + length }
}
