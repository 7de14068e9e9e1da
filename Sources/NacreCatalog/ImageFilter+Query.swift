import Foundation
import GRDB

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
