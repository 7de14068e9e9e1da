/// Reads little-endian integers and LEB128 varints with a bounds check on every read.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var position = 0
    /// The error code a short read reports (truncated stream vs. malformed tables).
    let shortReadCode: EntropyCodingError.Code
    let what: String

    init(_ bytes: [UInt8], what: String, shortReadCode: EntropyCodingError.Code) {
        self.bytes = bytes
        self.what = what
        self.shortReadCode = shortReadCode
    }

    var remaining: Int { bytes.count - position }
    var isAtEnd: Bool { position == bytes.count }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw shortRead(size) }
        var value: T = 0
        for i in 0..<size {
            value |= T(truncatingIfNeeded: bytes[position + i]) << (8 * i)
        }
        position += size
        return value
    }

    /// An unsigned LEB128 of at most `maxBytes` bytes (10 covers UInt64).
    mutating func readVarint(maxBytes: Int = 10) throws -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<maxBytes {
            guard remaining >= 1 else { throw shortRead(1) }
            let byte = bytes[position]
            position += 1
            let group = UInt64(byte & 0x7F)
            guard i < 9 || group <= 1 else { break }
            value |= group << (7 * UInt64(i))
            if byte & 0x80 == 0 { return value }
        }
        throw EntropyCodingError(shortReadCode == .truncatedStream ? .corruptStream : shortReadCode,
            "\(what): varint at byte \(position) is longer than \(maxBytes) bytes; the data is corrupt")
    }

    mutating func readBytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, remaining >= count else { throw shortRead(count) }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    private func shortRead(_ wanted: Int) -> EntropyCodingError {
        EntropyCodingError(shortReadCode,
            "\(what): needed \(wanted) more byte(s) at offset \(position) but only \(remaining) remain; the data is truncated or corrupt")
    }
}
