/// Where one spooled file is in the daemon's pipeline.
///
/// Forward path: `claimed → encoded → appended → sealed → verified → indexed → done`.
/// Roll-backs to `claimed` exist for crash recovery: work held only in memory or in an unsealed
/// batch is lost in a crash, so the file (still in the processing folder) is encoded again.
/// Any state before `indexed` may go to `quarantined`. `done` and `quarantined` are final.
public enum IngestState: String, Codable, Sendable, CaseIterable {
    /// Moved from the inbox into the processing folder; the catalog owns it now.
    case claimed
    /// Decoded and encoded; its latent exists only in memory.
    case encoded
    /// Its frame is written to the open (unsealed) batch file.
    case appended
    /// The batch archive is sealed: index, trailer, fsync, rename, fsync of the folder.
    case sealed
    /// The sealed archive was re-opened and this image decoded and checked.
    case verified
    /// Its image row is in the catalog (set by `Catalog.indexArchive`).
    case indexed
    /// The original was deleted or moved away. Final.
    case done
    /// Bad input, moved to quarantine with a reason. Final.
    case quarantined

    /// The states this one may move to.
    public var allowedNextStates: Set<IngestState> {
        switch self {
        case .claimed: [.encoded, .quarantined]
        case .encoded: [.appended, .claimed, .quarantined]
        case .appended: [.sealed, .claimed, .quarantined]
        case .sealed: [.verified, .claimed, .quarantined]
        case .verified: [.indexed, .claimed, .quarantined]
        case .indexed: [.done]
        case .done, .quarantined: []
        }
    }

    /// Whether the pipeline allows going from this state to `next`.
    public func canTransition(to next: IngestState) -> Bool {
        allowedNextStates.contains(next)
    }

    /// `done` and `quarantined`: nothing more happens to the row.
    public var isFinal: Bool { allowedNextStates.isEmpty }

    /// The states a restart must finish or roll back.
    public static let unfinished: Set<IngestState> = Set(allCases.filter { !$0.isFinal })
}
