/// Reads little-endian integers, LEB128 varints and byte strings from a byte array, with bounds
/// checks that throw (never trap) on short or malformed input.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    /// Names the structure being read in error messages ("image record", "index"...).
    let context: String

    /// Reads `bytes[start..<end]`; the range is clamped to the array, so reads can never leave it.
    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil, context: String) {
        self.bytes = bytes
        self.end = max(0, min(end ?? bytes.count, bytes.count))
        self.position = max(0, min(start, self.end))
        self.context = context
    }

    /// A reader over the next `length` bytes (which this reader then skips); throws if fewer remain.
    mutating func subReader(length: Int, context: String) throws(ArchiveError) -> ByteReader {
        try need(length)
        defer { position += length }
        return ByteReader(bytes, from: position, to: position + length, context: context)
    }

    /// A varint length followed by that many bytes, as a reader over them.
    mutating func lengthPrefixedReader(context: String) throws(ArchiveError) -> ByteReader {
        let length = try varint()
        guard length <= UInt64(remaining) else { throw .truncated("The \(context)") }
        return try subReader(length: Int(length), context: context)
    }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position >= end }

    mutating func u8() throws(ArchiveError) -> UInt8 {
        try need(1)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16() throws(ArchiveError) -> UInt16 { try littleEndian(UInt16.self) }
    mutating func u32() throws(ArchiveError) -> UInt32 { try littleEndian(UInt32.self) }
    mutating func u64() throws(ArchiveError) -> UInt64 { try littleEndian(UInt64.self) }
    mutating func i64() throws(ArchiveError) -> Int64 { Int64(bitPattern: try littleEndian(UInt64.self)) }
    mutating func f32() throws(ArchiveError) -> Float { Float(bitPattern: try littleEndian(UInt32.self)) }

    /// Unsigned LEB128 of at most 10 bytes; rejects values that overflow 64 bits.
    mutating func varint() throws(ArchiveError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            let group = UInt64(byte & 0x7F)
            if shift == 63 && group > 1 { throw .corrupt("A number in the \(context) overflows 64 bits") }
            value |= group << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { throw .corrupt("A number in the \(context) is longer than 10 bytes") }
        }
    }

    /// A varint that must fit in `Int` and not exceed `limit`.
    mutating func count(limit: Int) throws(ArchiveError) -> Int {
        let value = try varint()
        guard value <= UInt64(limit) else {
            throw .corrupt("A length in the \(context) (\(value)) exceeds the \(limit) bytes available")
        }
        return Int(value)
    }

    mutating func bytes(_ count: Int) throws(ArchiveError) -> [UInt8] {
        try need(count)
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// A varint length followed by that many bytes.
    mutating func lengthPrefixed() throws(ArchiveError) -> [UInt8] {
        let length = try varint()
        guard length <= UInt64(remaining) else { throw .truncated("The \(context)") }
        return try bytes(Int(length))
    }

    mutating func skip(_ count: Int) throws(ArchiveError) {
        try need(count)
        position += count
    }

    private func need(_ count: Int) throws(ArchiveError) {
        guard count >= 0, count <= remaining else { throw .truncated("The \(context)") }
    }

    private mutating func littleEndian<T: FixedWidthInteger>(_ type: T.Type) throws(ArchiveError) -> T {
        let size = MemoryLayout<T>.size
        try need(size)
        var value: T = 0
        for index in 0..<size { value |= T(bytes[position + index]) << (8 * index) }
        position += size
        return value
    }
}
