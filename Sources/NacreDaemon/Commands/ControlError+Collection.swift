import NacreArchive
import NacreCatalog
import NacreCodec
import NacreStore

extension ControlError {
    /// The reply for a catalog failure: `not_found` and `ambiguous` pass through with the
    /// catalog's message (which says what to do); anything else is `internal`.
    init(_ error: CatalogError) {
        switch error.code {
        case .notFound: self.init(.notFound, error.message)
        case .ambiguous: self.init(.ambiguous, error.message)
        case .invalidArgument: self.init(.invalidArgument, error.message)
        default: self.init(.internal, "catalog: \(error.message)")
        }
    }

    /// Runs catalog work, turning its errors into replies.
    static func catalog<T>(_ work: () async throws -> T) async throws(ControlError) -> T {
        do {
            return try await work()
        } catch let error as CatalogError {
            throw ControlError(error)
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError(.internal, "catalog: \(error)")
        }
    }

    /// An image that cannot be read back from its archive.
    static func damaged(_ what: String, _ cause: any Error) -> ControlError {
        let detail = (cause as? ArchiveError).map(\.message) ?? (cause as? StoreError)?.message ?? "\(cause)"
        return ControlError(.damaged, "\(what): \(detail). Run `nacre ctl verify ARCHIVE` to see what is damaged; restore the archive file from a backup, or `nacre reindex` if the catalog is stale")
    }
}
