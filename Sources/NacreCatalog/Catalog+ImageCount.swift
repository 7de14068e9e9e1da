import Foundation
import GRDB

extension Catalog {
    /// How many images match `filter` (what a full listing would return), for paged replies.
    public func imageCount(_ filter: ImageFilter = ImageFilter()) async throws -> Int {
        try await read("Counting images") { db in
            try filter.applied(to: ImageRecord.all()).fetchCount(db)
        }
    }
}

extension ImageFilter {
    /// `request` restricted to the images this filter matches (every set field, combined with AND).
    func applied(to request: QueryInterfaceRequest<ImageRecord>) -> QueryInterfaceRequest<ImageRecord> {
        var request = request
        if let nameGlob { request = request.filter(sql: "display_name GLOB ?", arguments: [nameGlob]) }
        if let encodedFrom { request = request.filter(Column("encoded_at") >= encodedFrom) }
        if let encodedBefore { request = request.filter(Column("encoded_at") < encodedBefore) }
        if let archiveID { request = request.filter(Column("archive_id") == archiveID) }
        return request
    }
}
