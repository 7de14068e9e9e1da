import Foundation
import Logging
import NacreCatalog
import Testing
@testable import NacreDaemon

/// The schedule loop of ``ModelLifecycle`` in process: a due run is attempted within a second or
/// two; one that cannot start (here: an empty reservoir) is not retried before the next slot.
@Suite("Retrain schedule")
struct RetrainScheduleTests {
    @Test func aDueRunIsAttemptedAndAFailedStartWaitsForTheNextSlot() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let yaml = """
            spools: [{name: main, inbox: inbox}]
            archive_dir: archives
            state_dir: state
            quarantine_dir: quarantine
            socket: {path: s.sock}
            retrain: {schedule: every 1h, reservoir_crops: 16}
            """
        let config = try DaemonConfig.parse(yaml: yaml, configPath: folder.sub("nacre.yaml"))
        let catalog = try Catalog(path: folder.sub("catalog.sqlite"))
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let hourAndMinuteAgo = Date().timeIntervalSince1970 - 3660
        try await catalog.setMetaValue(String(hourAndMinuteAgo), forKey: ModelLifecycle.lastStartedKey)

        let lifecycle = ModelLifecycle(config: config, catalog: catalog, logger: logger)
        await lifecycle.start()
        let attempted = await eventually(timeout: 10) {
            let value = (try? await catalog.metaValue(forKey: ModelLifecycle.lastStartedKey)).flatMap { $0.flatMap(Double.init) }
            return (value ?? 0) > hourAndMinuteAgo + 3600
        }
        #expect(attempted, "the due run was not attempted")
        #expect(try await catalog.trainingRuns().isEmpty, "an empty reservoir starts no run")
        #expect(await lifecycle.statusValue()["state"] == "idle")
        await lifecycle.shutdown()
    }
}
