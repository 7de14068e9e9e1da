import Foundation
import GRDB

/// The part a model plays in the lifecycle (see the model-lifecycle issue).
public enum ModelRole: String, Codable, Sendable, CaseIterable {
    /// Used for new batches. At most one model is champion (a unique index enforces it).
    case champion
    /// A re-trained candidate waiting for, or having lost, the gate.
    case challenger
    /// No longer used for new batches; old archives still carry their own copy.
    case retired
}

/// A codec model, content-addressed by the SHA-256 of its serialized form.
public struct ModelRecord: CatalogRecord, Hashable {
    public static let databaseTableName = "models"

    /// Lower-case hex SHA-256 of the model file (64 characters).
    public var id: String
    /// The model this one was fine-tuned from, if any.
    public var parentID: String?
    public var createdAt: Date
    /// Number of training samples (crops) the model saw in its last training run.
    public var dataSize: Int
    /// Optimizer steps in its last training run.
    public var steps: Int
    /// Wall-clock seconds spent training it.
    public var wallSeconds: Double
    /// BD-rate against its parent on the held-back crops (negative is better), when gated.
    public var gateBDRate: Double?
    /// A short human summary of the gate decision.
    public var gateResult: String?
    public var role: ModelRole
    /// Where the model file lives, if the daemon keeps one (nil for models known only from archives).
    public var filePath: String?

    public init(id: String, parentID: String? = nil, createdAt: Date = Date(), dataSize: Int = 0, steps: Int = 0,
                wallSeconds: Double = 0, gateBDRate: Double? = nil, gateResult: String? = nil,
                role: ModelRole, filePath: String? = nil) {
        self.id = id
        self.parentID = parentID
        self.createdAt = createdAt
        self.dataSize = dataSize
        self.steps = steps
        self.wallSeconds = wallSeconds
        self.gateBDRate = gateBDRate
        self.gateResult = gateResult
        self.role = role
        self.filePath = filePath
    }
}
