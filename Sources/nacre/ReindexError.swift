/// Why `nacre reindex` could not start: a folder argument that is missing, not a folder, or unreadable.
/// Raised before the catalog is touched, so a mistyped path never empties it.
struct ReindexError: Error, CustomStringConvertible, Hashable {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        var description: String { name }
        /// The path does not exist.
        static let notFound = Code(name: "notFound")
        /// The path is neither a folder nor a `.nacre` file (symbolic links are not followed).
        static let notAFolder = Code(name: "notAFolder")
        /// The folder cannot be listed.
        static let unreadable = Code(name: "unreadable")
    }

    var code: Code
    var message: String
    var description: String { message }
}
