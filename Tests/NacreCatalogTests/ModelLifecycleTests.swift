import Foundation
import Testing
@testable import NacreCatalog

@Suite("Models, training runs, the reservoir and catalog values")
struct ModelLifecycleTests {
    @Test("Models keep their lineage; one champion at a time; promotion retires the old champion atomically")
    func promotion() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await catalog.insertModel(Fixture.model(1, role: .champion))
            try await catalog.insertModel(Fixture.model(2, role: .challenger, parent: Fixture.hex(1)))
            #expect(await catalogError { try await catalog.insertModel(Fixture.model(3, role: .champion)) }?.code == .alreadyExists,
                    "a second champion must be refused")
            #expect(await catalogError { try await catalog.insertModel(Fixture.model(1)) }?.code == .alreadyExists)
            #expect(await catalogError { try await catalog.insertModel(Fixture.model(4, parent: Fixture.hex(99))) }?.code == .constraintViolation)

            let previous = try await catalog.promoteModel(id: Fixture.hex(2))
            #expect(previous?.id == Fixture.hex(1))
            #expect(previous?.role == .retired)
            #expect(try await catalog.champion()?.id == Fixture.hex(2))
            #expect(try await catalog.model(id: Fixture.hex(1))?.role == .retired)
            #expect(try await catalog.model(id: Fixture.hex(2))?.parentID == Fixture.hex(1))
            #expect(try await catalog.models().map(\.id) == [Fixture.hex(2), Fixture.hex(1)])
            #expect(await catalogError { try await catalog.promoteModel(id: Fixture.hex(42)) }?.code == .notFound)

            var updated = try #require(try await catalog.model(id: Fixture.hex(2)))
            updated.gateBDRate = -2.5
            updated.gateResult = "promoted: -2.5% BD-rate over 4 qualities"
            try await catalog.updateModel(updated)
            #expect(try await catalog.model(id: Fixture.hex(2)) == updated)
            #expect(await catalogError { try await catalog.updateModel(Fixture.model(77)) }?.code == .notFound)
        }
    }

    @Test("Training runs are recorded, updated and listed by state")
    func trainingRuns() async throws {
        try await withTemporaryCatalog { catalog, _ in
            try await catalog.insertModel(Fixture.model(1, role: .champion))
            var run = try await catalog.insertTrainingRun(TrainingRunRecord(parentModelID: Fixture.hex(1), startedAt: Fixture.t0,
                                                                            checkpointPath: "/var/lib/nacre/train/ckpt"))
            #expect(run.id != nil)
            run.state = .interrupted
            run.steps = 1200
            try await catalog.updateTrainingRun(run)
            #expect(try await catalog.trainingRuns(in: [.running, .interrupted]) == [run])
            try await catalog.insertModel(Fixture.model(2, role: .challenger, parent: Fixture.hex(1)))
            run.state = .finished
            run.challengerModelID = Fixture.hex(2)
            run.finishedAt = Fixture.t0.addingTimeInterval(1800)
            run.gateBDRate = 0.4
            run.result = .rejected
            try await catalog.updateTrainingRun(run)
            #expect(try await catalog.trainingRun(id: run.id!) == run)
            #expect(try await catalog.trainingRuns(in: [.running, .interrupted]).isEmpty)
            #expect(await catalogError {
                try await catalog.insertTrainingRun(TrainingRunRecord(parentModelID: Fixture.hex(50)))
            }?.code == .constraintViolation)
        }
    }

    @Test("Reservoir crops: add, a batch of evictions and additions in one transaction, filter held-back, and a persistent seen-counter")
    func reservoir() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let a = try await catalog.addReservoirCrop(ReservoirCropRecord(path: "/r/a.png", sourceSHA256: Fixture.hex(1), heldBack: false, addedAt: Fixture.t0))
            _ = try await catalog.addReservoirCrop(ReservoirCropRecord(path: "/r/b.png", sourceSHA256: Fixture.hex(2), heldBack: true, addedAt: Fixture.t0))
            #expect(await catalogError {
                try await catalog.addReservoirCrop(ReservoirCropRecord(path: "/r/a.png", sourceSHA256: Fixture.hex(3), heldBack: false))
            }?.code == .alreadyExists)
            let kept = try await catalog.updateReservoir(
                removing: [a.id!], adding: [ReservoirCropRecord(path: "/r/c.png", sourceSHA256: Fixture.hex(3), heldBack: false, addedAt: Fixture.t0)],
                offered: 7, offeredKey: "reservoir.offered")
            let c = try #require(kept.first)
            #expect(c.id != nil)
            #expect(try await catalog.reservoirCrops(heldBack: false) == [c])
            #expect(try await catalog.reservoirCrops(heldBack: true).map(\.path) == ["/r/b.png"])
            #expect(try await catalog.reservoirCrops().count == 2)
            let counts = try await catalog.reservoirCounts()
            #expect(counts.total == 2 && counts.heldBack == 1)
            #expect(try await catalog.metaValue(forKey: "reservoir.offered") == "7")
            // All or nothing: evicting a crop that is gone rolls back the whole batch.
            #expect(await catalogError {
                try await catalog.updateReservoir(removing: [c.id!, a.id!], adding: [ReservoirCropRecord(path: "/r/d.png", sourceSHA256: Fixture.hex(4), heldBack: false)],
                                                  offered: 9, offeredKey: "reservoir.offered")
            }?.code == .notFound)
            #expect(try await catalog.reservoirCrops().count == 2)
            #expect(try await catalog.metaValue(forKey: "reservoir.offered") == "7")
            #expect(try await catalog.removeReservoirCrop(id: c.id!))
            #expect(try await !catalog.removeReservoirCrop(id: c.id!))

            #expect(try await catalog.metaValue(forKey: "reservoir.seen") == nil)
            try await catalog.setMetaValue("10", forKey: "reservoir.seen")
            try await catalog.setMetaValue("11", forKey: "reservoir.seen")
            #expect(try await catalog.metaValue(forKey: "reservoir.seen") == "11")
            try await catalog.setMetaValue(nil, forKey: "reservoir.seen")
            #expect(try await catalog.metaValue(forKey: "reservoir.seen") == nil)
        }
    }
}
