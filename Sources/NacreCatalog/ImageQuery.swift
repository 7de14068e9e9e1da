import Foundation

/// Filters for listing and searching images. Empty fields do not filter.
public struct ImageFilter: Sendable, Hashable, Codable {
    /// An SQLite GLOB on the display name: `*` any run (slashes included), `?` one character,
    /// `[a-z]` a set, `[^…]` a negated set. Case-sensitive (`*.PNG` does not match `a.png`);
    /// a pattern with a literal prefix (`2024/*`) uses the name index.
    public var nameGlob: String?
    /// Encoded at or after this time.
    public var encodedFrom: Date?
    /// Encoded strictly before this time.
    public var encodedBefore: Date?
    /// Only images in this archive.
    public var archiveID: String?

    public init(nameGlob: String? = nil, encodedFrom: Date? = nil, encodedBefore: Date? = nil, archiveID: String? = nil) {
        self.nameGlob = nameGlob
        self.encodedFrom = encodedFrom
        self.encodedBefore = encodedBefore
        self.archiveID = archiveID
    }
}

/// Where the next page starts: just after the image with this id in newest-first order. Stable
/// while images are added; a rebuild invalidates it (the call then throws `.notFound`).
public struct ImageCursor: Sendable, Hashable, Codable {
    public var afterImageID: Int64

    public init(afterImageID: Int64) {
        self.afterImageID = afterImageID
    }
}

/// One page of images, newest first.
public struct ImagePage: Sendable, Hashable {
    public var images: [ImageRecord]
    /// Pass to the next call to continue; nil on the last page.
    public var next: ImageCursor?
    /// How many images match the filter in all, read in the same transaction as the page (so
    /// the two agree while images are being indexed).
    public var total: Int
}
