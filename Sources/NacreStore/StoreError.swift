/// A failure of a store operation (packing, restoring, indexing archives), with a stable code and
/// a message that says what went wrong and what to do about it.
public struct StoreError: Error, CustomStringConvertible, Hashable, Sendable {
    /// Stable machine-readable codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }
        init(_ name: String) { self.name = name }

        /// A path does not exist.
        public static let notFound = Code("notFound")
        /// A path is neither a folder nor the kind of file expected (symbolic links are not followed).
        public static let notAFolder = Code("notAFolder")
        /// A file or folder cannot be read.
        public static let unreadable = Code("unreadable")
        /// A folder holds no PNG files.
        public static let noPNGFiles = Code("noPNGFiles")
        /// An archived image's frame disagrees with itself (bitstream vs record).
        public static let damagedImage = Code("damagedImage")
        /// An archived name is not a plain relative path, so restoring it could escape the folder.
        public static let unsafeName = Code("unsafeName")
        /// The model cannot encode (decoder-only) or is missing.
        public static let unusableModel = Code("unusableModel")
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
}
