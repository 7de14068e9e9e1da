/// A stretch of an archive that is not an intact frame, found by a linear scan.
public struct DamagedRegion: Hashable, Sendable {
    public var offset: UInt64
    public var length: UInt64
    /// Why the bytes there could not be read as a frame.
    public var problem: ArchiveError
}
