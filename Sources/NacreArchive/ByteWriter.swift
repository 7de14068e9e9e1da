/// Appends little-endian integers, LEB128 varints and byte strings to a growing buffer.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) { littleEndian(value) }

    mutating func u32(_ value: UInt32) { littleEndian(value) }

    mutating func u64(_ value: UInt64) { littleEndian(value) }

    mutating func i64(_ value: Int64) { littleEndian(UInt64(bitPattern: value)) }

    /// IEEE 754 binary32, little endian.
    mutating func f32(_ value: Float) { littleEndian(value.bitPattern) }

    /// Unsigned LEB128: 7 bits per byte, low groups first, high bit set on all but the last byte.
    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func varint(_ value: Int) { varint(UInt64(value)) }

    mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }

    /// A varint length followed by the bytes.
    mutating func lengthPrefixed<C: Collection>(_ data: C) where C.Element == UInt8 {
        varint(data.count)
        bytes.append(contentsOf: data)
    }

    /// Overwrites 4 bytes at `position` (used to patch lengths and checksums).
    mutating func patchU32(_ value: UInt32, at position: Int) {
        for index in 0..<4 { bytes[position + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(index))) }
    }

    private mutating func littleEndian<T: FixedWidthInteger>(_ value: T) {
        var rest = value.littleEndian
        withUnsafeBytes(of: &rest) { bytes.append(contentsOf: $0) }
    }
}
