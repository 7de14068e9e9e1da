/// Small reads through a 1 MiB read-ahead window, for walking frame headers during a linear scan.
struct SourceCursor {
    let source: any ByteSource
    private var windowStart: UInt64 = 0
    private var window: [UInt8] = []
    private static let windowSize: UInt64 = 1 << 20

    init(source: any ByteSource) { self.source = source }

    var size: UInt64 { source.size }

    /// `count` bytes at `offset` (count ≤ 1 MiB); throws `truncated` past the end.
    mutating func bytes(at offset: UInt64, count: Int) throws(ArchiveError) -> ArraySlice<UInt8> {
        guard offset <= size, UInt64(count) <= size - offset else { throw ArchiveError.truncated("The archive").at(offset: offset) }
        if offset < windowStart || offset + UInt64(count) > windowStart + UInt64(window.count) {
            windowStart = offset
            window = try source.read(at: offset, count: Int(min(SourceCursor.windowSize, size - offset)))
        }
        let start = Int(offset - windowStart)
        return window[start..<start + count]
    }

    /// The first offset ≥ `start` where a zstd or skippable frame magic begins, or the end of the source.
    mutating func nextMagic(from start: UInt64) throws(ArchiveError) -> UInt64 {
        var position = start
        while position + 4 <= size {
            let chunk = try bytes(at: position, count: Int(min(SourceCursor.windowSize, size - position)))
            var index = chunk.startIndex
            while index + 4 <= chunk.endIndex {
                let magic = UInt32(chunk[index]) | UInt32(chunk[index + 1]) << 8 | UInt32(chunk[index + 2]) << 16 | UInt32(chunk[index + 3]) << 24
                if magic == ArchiveFormat.zstdFrameMagic || ArchiveFormat.isSkippableMagic(magic) {
                    return position + UInt64(index - chunk.startIndex)
                }
                index += 1
            }
            position += UInt64(chunk.count - 3)
        }
        return size
    }
}
