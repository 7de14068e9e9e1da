#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
@testable import NacreDaemon

/// A pipeline that records what the service hands it, to check the seam.
private final class RecordingPipeline: DaemonPipeline {
    struct Record {
        var events: [SpoolEvent] = []
        var applied: [DaemonConfig] = []
        var statusDuringDrain: JSONValue?
        var parked = false
    }

    let record = Mutex(Record())
    let socketPath: String

    init(socketPath: String) { self.socketPath = socketPath }

    func run() async throws {
        try? await gracefulShutdown()
        // While the pipeline drains, the control socket still answers.
        let path = socketPath
        let status = await offPool { () -> JSONValue? in
            guard let client = try? ControlClient(path: path, timeout: 5) else { return nil }
            return try? client.send(ControlRequest(command: .status))
        }
        try? await Task.sleep(for: .milliseconds(100))
        record.withLock {
            $0.statusDuringDrain = status
            $0.parked = true
        }
    }

    func ingest(_ event: SpoolEvent) async { record.withLock { $0.events.append(event) } }
    func apply(_ config: DaemonConfig) async { record.withLock { $0.applied.append(config) } }
    func statusFields() async -> [String: JSONValue] { ["queue_depth": 0, "pid": -1] }

    func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        guard request.command == .seal else { throw ControlError.notAvailable(request.command.rawValue) }
        return ["sealed": true, "peer_uid": .int(Int64(peer.uid))]
    }
}

@Suite("NacreDaemonService")
struct NacreDaemonServiceTests {
    @Test func serviceFeedsThePipelineReloadsAndDrainsBeforeClosingTheSocket() async throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let configPath = folder.sub("nacre.yaml")
        try testConfigYAML().write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try DaemonConfig.load(path: configPath)
        let pipeline = RecordingPipeline(socketPath: config.socket.path)
        let service = try NacreDaemonService(config: config, version: "t", pipeline: pipeline,
                                             notify: SDNotify(environment: [:]), logger: testLogger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)], logger: testLogger))
        let running = Task { try await group.run() }

        let path = config.socket.path
        let status = { @Sendable () async -> JSONValue? in
            await offPool {
                guard let client = try? ControlClient(path: path, timeout: 5) else { return nil }
                return try? client.send(ControlRequest(command: .status))["result"]
            }
        }
        #expect(await eventually(timeout: 10) { await status() != nil })
        let first = try #require(await status())
        #expect(first["queue_depth"] == 0, "pipeline fields are merged")
        #expect(first["pid"] == .int(Int64(getpid())), "the daemon's own fields win")
        // Folders from the config were created.
        for name in ["inbox", "archives", "state", "quarantine", "restore"] {
            #expect(FileManager.default.fileExists(atPath: folder.sub(name)), "\(name)")
        }

        folder.write("inbox/cat.png")
        #expect(await eventually { pipeline.record.withLock { $0.events.map(\.file.name) } == ["cat.png"] })

        let sealed = await offPool { () -> JSONValue? in
            guard let client = try? ControlClient(path: path, timeout: 5) else { return nil }
            return try? client.send(ControlRequest(command: .seal))
        }
        #expect(sealed?["result"]?["sealed"] == true)
        #expect(sealed?["result"]?["peer_uid"] == .int(Int64(getuid())))

        try testConfigYAML(extraTop: "batch: {max_images: 7}").write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(await service.reload())
        #expect(pipeline.record.withLock { $0.applied.last?.batching.maxImages } == 7)
        try "not: [valid".write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(await service.reload() == false)
        #expect(service.state.config.batching.maxImages == 7, "an invalid file keeps the running config")

        await group.triggerGracefulShutdown()
        try await running.value
        let record = pipeline.record.withLock { $0 }
        #expect(record.parked)
        #expect(record.statusDuringDrain?["ok"] == true, "status answered while the pipeline drained")
        #expect(access(path, F_OK) != 0, "socket removed after the pipeline finished")
    }
}
