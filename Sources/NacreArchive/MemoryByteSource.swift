import Synchronization

/// An archive held in memory.
final class MemoryByteSource: ByteSource {
    let bytes: [UInt8]
    private let counters = Mutex(ReadStatistics())

    init(bytes: [UInt8]) { self.bytes = bytes }

    var size: UInt64 { UInt64(bytes.count) }

    var statistics: ReadStatistics { counters.withLock { $0 } }

    func read(at offset: UInt64, count: Int) throws(ArchiveError) -> [UInt8] {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw ArchiveError.truncated("The archive").at(offset: offset)
        }
        counters.withLock { $0.reads += 1; $0.bytes += UInt64(count) }
        let start = Int(offset)
        return Array(bytes[start..<start + count])
    }
}
