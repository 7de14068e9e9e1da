import Foundation
import Testing
@testable import NacreCatalog

@Suite("Ingest state transitions")
struct IngestTransitionTests {
    @Test("The documented pipeline table")
    func table() {
        #expect(IngestState.claimed.allowedNextStates == [.encoded, .quarantined])
        #expect(IngestState.appended.canTransition(to: .sealed))
        #expect(IngestState.appended.canTransition(to: .claimed))
        #expect(!IngestState.claimed.canTransition(to: .sealed))
        #expect(!IngestState.indexed.canTransition(to: .quarantined), "an indexed image is archived, not bad input")
        #expect(IngestState.indexed.allowedNextStates == [.done])
        #expect(IngestState.done.isFinal && IngestState.quarantined.isFinal)
        #expect(IngestState.unfinished == [.claimed, .encoded, .appended, .sealed, .verified, .indexed])
    }

    @Test("A file walks the whole pipeline, and each step is stored")
    func forwardPath() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let claimed = try await catalog.claimIngest(Fixture.ingest("a.png"))
            let id = try #require(claimed.id)
            #expect(claimed.state == .claimed)
            for (next, batch) in [(IngestState.encoded, nil), (.appended, "b1"), (.sealed, nil), (.verified, nil),
                                  (.indexed, nil), (.done, nil)] as [(IngestState, String?)] {
                let moved = try await catalog.transitionIngest(id: id, to: next, batchID: batch)
                #expect(moved.state == next)
                #expect(try await catalog.ingestRow(id: id)?.state == next)
            }
            #expect(try await catalog.ingestRow(id: id)?.batchID == "b1")
            #expect(try await catalog.ingestRows(in: IngestState.unfinished).isEmpty)
        }
    }

    @Test("Every illegal move is refused with illegalTransition and leaves the row as it was; every legal one works")
    func exhaustive() async throws {
        try await withTemporaryCatalog { catalog, _ in
            // One row parked in each state.
            let pathTo: [IngestState: [IngestState]] = [
                .claimed: [], .encoded: [.encoded], .appended: [.encoded, .appended],
                .sealed: [.encoded, .appended, .sealed], .verified: [.encoded, .appended, .sealed, .verified],
                .indexed: [.encoded, .appended, .sealed, .verified, .indexed],
                .done: [.encoded, .appended, .sealed, .verified, .indexed, .done], .quarantined: [.quarantined],
            ]
            var legal = 0, illegal = 0
            for from in IngestState.allCases {
                for to in IngestState.allCases {
                    let row = try await catalog.claimIngest(Fixture.ingest("\(from)-\(to).png"))
                    let id = try #require(row.id)
                    for step in pathTo[from]! {
                        try await catalog.transitionIngest(id: id, to: step, batchID: step == .appended ? "b" : nil,
                                                           reason: step == .quarantined ? "test" : nil)
                    }
                    let before = try #require(try await catalog.ingestRow(id: id))
                    #expect(before.state == from)
                    let error = await catalogError {
                        try await catalog.transitionIngest(id: id, to: to, batchID: to == .appended ? "b" : nil,
                                                           reason: to == .quarantined ? "bad" : nil)
                    }
                    if from.canTransition(to: to) {
                        legal += 1
                        #expect(error == nil, "\(from) → \(to) should be allowed")
                    } else {
                        illegal += 1
                        #expect(error?.code == .illegalTransition, "\(from) → \(to) should be refused")
                        #expect(try await catalog.ingestRow(id: id) == before)
                    }
                }
            }
            #expect(legal == 15)
            #expect(illegal == 64 - 15)
        }
    }

    @Test("Roll-back to claimed clears the batch; arguments are checked")
    func rollbackAndArguments() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let id = try #require(try await catalog.claimIngest(Fixture.ingest("a.png")).id)
            try await catalog.transitionIngest(id: id, to: .encoded)
            #expect(await catalogError { try await catalog.transitionIngest(id: id, to: .appended) }?.code == .invalidArgument)
            try await catalog.transitionIngest(id: id, to: .appended, batchID: "b1")
            let rolledBack = try await catalog.transitionIngest(id: id, to: .claimed)
            #expect(rolledBack.batchID == nil)
            #expect(await catalogError { try await catalog.transitionIngest(id: id, to: .quarantined) }?.code == .invalidArgument)
            #expect(await catalogError { try await catalog.transitionIngest(id: id, from: .sealed, to: .encoded) }?.code == .illegalTransition)
            let quarantined = try await catalog.transitionIngest(id: id, from: .claimed, to: .quarantined, reason: "not a PNG")
            #expect(quarantined.errorReason == "not a PNG")
            #expect(await catalogError { try await catalog.transitionIngest(id: 9999, to: .encoded) }?.code == .notFound)
            var wrongStart = Fixture.ingest("b.png")
            wrongStart.state = .sealed
            #expect(await catalogError { try await catalog.claimIngest(wrongStart) }?.code == .invalidArgument)
        }
    }

    @Test("A claimed path is held by one unfinished row at a time")
    func singleActiveClaim() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let first = try await catalog.claimIngest(Fixture.ingest("a.png"))
            #expect(await catalogError { try await catalog.claimIngest(Fixture.ingest("a.png")) }?.code == .alreadyExists)
            try await catalog.transitionIngest(id: first.id!, to: .quarantined, reason: "truncated")
            // Once the first row is final, the processing path may be reused.
            let second = try await catalog.claimIngest(Fixture.ingest("a.png"))
            #expect(second.id != first.id)
        }
    }

    @Test("Crash recovery: rows in unfinished states come back, per state and per batch, with counts")
    func recoveryQueries() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let a = try await catalog.claimIngest(Fixture.ingest("a.png"))
            let b = try await catalog.claimIngest(Fixture.ingest("b.png"))
            let c = try await catalog.claimIngest(Fixture.ingest("c.png"))
            for row in [a, b] {
                try await catalog.transitionIngest(id: row.id!, to: .encoded)
                try await catalog.transitionIngest(id: row.id!, to: .appended, batchID: "b1")
            }
            try await catalog.transitionIngest(id: c.id!, to: .quarantined, reason: "zero bytes")
            #expect(try await catalog.ingestRows(in: IngestState.unfinished).map(\.id) == [a.id, b.id])
            #expect(try await catalog.ingestRows(in: [.appended]).count == 2)
            #expect(try await catalog.ingestCounts() == [.appended: 2, .quarantined: 1])
            // The open batch was lost in the crash: roll its rows back to be encoded again.
            let rolled = try await catalog.transitionIngestBatch("b1", from: .appended, to: .claimed)
            #expect(rolled.map(\.state) == [.claimed, .claimed])
            #expect(try await catalog.ingestRows(batch: "b1").isEmpty)
        }
    }
}
