import Foundation
import GRDB

/// Where a re-training run is.
public enum TrainingRunState: String, Codable, Sendable, CaseIterable {
    case running
    /// Stopped (SIGTERM, budget pause) with a checkpoint; resumable.
    case interrupted
    /// Trained and gated; see `result`.
    case finished
    /// Gave up; see `error`.
    case failed
}

/// What the gate decided.
public enum TrainingRunResult: String, Codable, Sendable, CaseIterable {
    case promoted
    case rejected
}

/// One re-training run: a challenger fine-tuned from a parent model on the reservoir.
public struct TrainingRunRecord: CatalogRecord, Hashable {
    public static let databaseTableName = "training_runs"

    public var id: Int64?
    public var parentModelID: String
    /// The challenger's content id, known once training produced it.
    public var challengerModelID: String?
    public var startedAt: Date
    public var finishedAt: Date?
    public var steps: Int
    public var state: TrainingRunState
    /// BD-rate of the challenger against the parent on held-back crops (negative is better).
    public var gateBDRate: Double?
    public var result: TrainingRunResult?
    /// Checkpoint to resume from.
    public var checkpointPath: String?
    public var error: String?

    public init(id: Int64? = nil, parentModelID: String, challengerModelID: String? = nil, startedAt: Date = Date(),
                finishedAt: Date? = nil, steps: Int = 0, state: TrainingRunState = .running,
                gateBDRate: Double? = nil, result: TrainingRunResult? = nil, checkpointPath: String? = nil,
                error: String? = nil) {
        self.id = id
        self.parentModelID = parentModelID
        self.challengerModelID = challengerModelID
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.steps = steps
        self.state = state
        self.gateBDRate = gateBDRate
        self.result = result
        self.checkpointPath = checkpointPath
        self.error = error
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
