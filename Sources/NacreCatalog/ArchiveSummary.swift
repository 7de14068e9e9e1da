/// One archive and its images as read back from the archive file, for ``Catalog/rebuild(from:)``.
public struct ArchiveSummary: Sendable, Hashable {
    public var archive: ArchiveRecord
    /// The archive's images; their `archiveID` is set to `archive.id` on insert.
    public var images: [ImageRecord]

    public init(archive: ArchiveRecord, images: [ImageRecord]) {
        self.archive = archive
        self.images = images
    }
}

/// What ``Catalog/rebuild(from:)`` wrote.
public struct RebuildReport: Sendable, Hashable, Codable {
    public var archiveCount: Int
    public var imageCount: Int
    /// Model ids that were unknown and were registered from the archives (role `retired`).
    public var modelsAdded: [String]
}
