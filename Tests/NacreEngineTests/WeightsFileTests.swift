import NacreChecksums
import Foundation
import Testing
@testable import NacreEngine

@Suite struct WeightsFileTests {
    private func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-engine-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    @Test func saveLoadRoundTrip() throws {
        let engine = try Fixture.engine()
        var rng = SeededRandom(seed: 9)
        let model = Sequential([
            try Conv2D(engine: engine, name: "a", inChannels: 3, outChannels: 16, kernel: 3, rng: &rng),
            try GDN(engine: engine, name: "b", channels: 16),
        ])
        let path = temporaryPath("round.nwt")
        try WeightsFile(parameters: model.parameters, metadata: ["model": "test", "N": "16"]).write(to: path)
        var rng2 = SeededRandom(seed: 10)
        let other = Sequential([
            try Conv2D(engine: engine, name: "a", inChannels: 3, outChannels: 16, kernel: 3, rng: &rng2),
            try GDN(engine: engine, name: "b", channels: 16),
        ])
        #expect(other.parameters[0].values() != model.parameters[0].values())
        let file = try WeightsFile.read(from: path)
        #expect(file.metadata == ["model": "test", "N": "16"])
        try file.load(into: other.parameters)
        for (p, q) in Swift.zip(model.parameters, other.parameters) { #expect(p.values() == q.values()) }
        // Same output after loading.
        let x = try Fixture.randomTensor(TensorShape(n: 1, c: 3, h: 6, w: 6), seed: 1)
        #expect(try model.forward(x, training: false).values() == other.forward(x, training: false).values())
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp-\(getpid())"))
    }

    @Test func corruptionAndTruncationAreDetected() throws {
        let file = WeightsFile(entries: [.init(name: "w", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])])
        let bytes = try file.encoded()
        #expect(try WeightsFile.decode(bytes) == file)
        for position in [9, 30, bytes.count / 2, bytes.count - 12] {
            var bad = bytes
            bad[position] ^= 0x20
            #expect(throws: EngineError.self) { _ = try WeightsFile.decode(bad) }
            do { _ = try WeightsFile.decode(bad) } catch let e as EngineError { #expect(e.code == .corruptWeights) }
        }
        #expect(throws: EngineError.self) { _ = try WeightsFile.decode(Array(bytes.dropLast(5))) }
        #expect(throws: EngineError.self) { _ = try WeightsFile.decode(Array("not weights at all".utf8)) }
        #expect(throws: EngineError.self) { _ = try WeightsFile.read(from: "/nonexistent/dir/w.nwt") }
    }

    @Test func mismatchedModelIsRejected() throws {
        let p = Parameter(name: "w", shape: [2, 2])
        let wrongShape = WeightsFile(entries: [.init(name: "w", shape: [4], values: [1, 2, 3, 4])])
        #expect(throws: EngineError.self) { try wrongShape.load(into: [p]) }
        let missing = WeightsFile(entries: [.init(name: "v", shape: [2, 2], values: [1, 2, 3, 4])])
        #expect(throws: EngineError.self) { try missing.load(into: [p]) }
        let dup = WeightsFile(entries: [.init(name: "v", shape: [1], values: [1]), .init(name: "v", shape: [1], values: [2])])
        #expect(throws: EngineError.self) { _ = try dup.encoded() }
    }

    @Test func crcMatchesKnownVector() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
