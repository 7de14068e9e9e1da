/// The result of `ArchiveReader.verify()`: every frame checked, and what is damaged.
public struct VerifyReport: Hashable, Sendable {
    /// One frame's check.
    public struct FrameCheck: Hashable, Sendable {
        public var frame: FrameLocation
        /// For image frames: the image's position in `ArchiveReader.images` and its name (from the index or record).
        public var imageIndex: Int?
        public var imageName: [UInt8]?
        /// Nil when the frame is intact; otherwise why it is not.
        public var problem: ArchiveError?

        public var isOK: Bool { problem == nil }
    }

    /// How the archive was opened (through its index, or by a scan because the index was unusable).
    public var openedVia: ArchiveReader.OpenMethod
    /// Every frame the reader knows, in file order.
    public var frames: [FrameCheck]
    /// Damage outside known frames: an unusable trailer or index, a missing trailer, unreadable stretches.
    public var archiveProblems: [ArchiveError]

    /// True when every frame and the trailer and index are intact.
    public var isIntact: Bool { archiveProblems.isEmpty && frames.allSatisfy(\.isOK) }

    /// The frames that failed their check.
    public var damagedFrames: [FrameCheck] { frames.filter { !$0.isOK } }

    /// Names of images whose frames are damaged (only images the index names; a scan cannot name an unreadable frame).
    public var damagedImageNames: [[UInt8]] { damagedFrames.compactMap(\.imageName) }
}
