import Foundation
import GRDB
import Logging
import Testing
@testable import NacreCatalog

@Suite("Schema and record mapping")
struct CatalogSchemaTests {
    @Test("Property and column names map both ways, acronyms included",
          arguments: [("modelID", "model_id"), ("originalSHA256", "original_sha256"), ("gateBDRate", "gate_bd_rate"),
                      ("msSSIM", "ms_ssim"), ("parentModelID", "parent_model_id"), ("sha256", "sha256"), ("id", "id"),
                      ("heldBack", "held_back"), ("psnr", "psnr"), ("sourceSHA256", "source_sha256"), ("mtime", "mtime")])
    func columnNames(property: String, column: String) {
        #expect(ColumnName.column(forProperty: property) == column)
        #expect(ColumnName.property(forColumn: column) == property)
    }

    @Test("Every column of every table maps to a property that round-trips")
    func everyColumnRoundTrips() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let columns = try await catalog.pool.read { db in
                var all: [String] = []
                for table in ["models", "archives", "images", "ingest", "events", "training_runs", "reservoir"] {
                    all += try db.columns(in: table).map(\.name)
                }
                return all
            }
            for column in columns {
                #expect(ColumnName.column(forProperty: ColumnName.property(forColumn: column)) == column)
            }
        }
    }

    @Test("Records with every optional set come back equal (no column silently dropped)")
    func fullRecordsRoundTrip() async throws {
        try await withTemporaryCatalog { catalog, _ in
            var parent = Fixture.model(1, role: .retired)
            parent.gateBDRate = -1.5
            parent.gateResult = "ok"
            try await catalog.insertModel(parent)
            var child = Fixture.model(2, role: .champion, parent: parent.id)
            child.gateBDRate = -3.25
            child.gateResult = "won"
            try await catalog.insertModel(child)
            #expect(try await catalog.model(id: parent.id) == parent)
            #expect(try await catalog.model(id: child.id) == child)

            var ingest = Fixture.ingest("a.png")
            ingest.sha256 = Fixture.hex(3)
            ingest.errorReason = "retry"
            let claimed = try await catalog.claimIngest(ingest)
            #expect(try await catalog.ingestRow(id: claimed.id!) == claimed)

            let run = try await catalog.insertTrainingRun(TrainingRunRecord(
                parentModelID: parent.id, challengerModelID: child.id, startedAt: Fixture.t0, finishedAt: Fixture.t0,
                steps: 5, state: .finished, gateBDRate: -3.25, result: .promoted, checkpointPath: "/c", error: "none"))
            #expect(try await catalog.trainingRun(id: run.id!) == run)
        }
    }

    @Test("Every Swift enum case passes v1's CHECK constraints")
    func enumsMatchSchema() async throws {
        try await withTemporaryCatalog { catalog, _ in
            for (index, role) in ModelRole.allCases.enumerated() {
                try await catalog.insertModel(Fixture.model(10 + index, role: role))
            }
            for (index, state) in ArchiveState.allCases.enumerated() {
                try await catalog.insertArchive(Fixture.archive("s\(index)", state: state))
            }
            for level in Logger.Level.allCases {
                try await catalog.appendEvent(level: level, kind: "k", message: "\(level)")
            }
            for state in TrainingRunState.allCases {
                for result in [nil] + TrainingRunResult.allCases.map(Optional.some) {
                    try await catalog.insertTrainingRun(TrainingRunRecord(parentModelID: Fixture.hex(10), state: state, result: result))
                }
            }
            // Ingest states are reached through transitions (see IngestTransitionTests); here, directly.
            for state in IngestState.allCases {
                try await catalog.pool.write { db in
                    var row = Fixture.ingest("\(state).png")
                    row.state = state
                    try row.insert(db)
                }
            }
            #expect(try await catalog.ingestCounts().count == IngestState.allCases.count)
        }
    }
}
