/// Random-access bytes an archive is read from: a file (pread) or memory (tests, fuzzing).
protocol ByteSource: Sendable {
    /// Total bytes.
    var size: UInt64 { get }
    /// Exactly `count` bytes at `offset`; throws `truncated` if they run past the end, `ioFailure` on I/O errors.
    func read(at offset: UInt64, count: Int) throws(ArchiveError) -> [UInt8]
    /// Number of `read` calls and bytes returned so far (to check what an operation touched).
    var statistics: ReadStatistics { get }
}

/// How much an archive reader has read from its source.
public struct ReadStatistics: Hashable, Sendable {
    /// Number of read calls (each is one positioned read: one seek).
    public var reads: Int = 0
    /// Total bytes read.
    public var bytes: UInt64 = 0

    public init(reads: Int = 0, bytes: UInt64 = 0) {
        self.reads = reads
        self.bytes = bytes
    }
}
