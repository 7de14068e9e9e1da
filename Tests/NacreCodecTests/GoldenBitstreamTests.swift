import Foundation
import Testing
@testable import NacreCodec

/// The golden bitstream: committed streams, tables and their decoded latents. Every future build
/// must decode the streams to exactly these values and re-encode them to exactly these bytes.
///
/// Regenerate (only when the format version changes on purpose):
/// `NACRE_WRITE_GOLDEN=1 swift test --filter GoldenBitstreamTests`
@Suite struct GoldenBitstreamTests {
    struct Latents: Codable, Equatable {
        var y: [Int32]
        var yMeans: [Int32]
        var yScaleIndices: [UInt8]
        var z: [Int32]
        var zChannels: Int
    }

    struct HyperSynthesisCase: Codable, Equatable {
        var zChannels: Int
        var zHeight: Int
        var zWidth: Int
        var z: [Int32]
        var expectedIndices: [UInt8]
    }

    static let sourceFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The deterministic inputs the fixture was generated from.
    static func makeLatents() -> Latents {
        var rng = SeededGenerator(seed: 0x4E41_4352_45)
        var y: [Int32] = [], means: [Int32] = [], indices: [UInt8] = []
        for i in 0..<2_000 {
            let index = UInt8.random(in: 0...63, using: &rng)
            indices.append(index)
            means.append(i % 3 == 0 ? Int32.random(in: -20...20, using: &rng) : 0)
            let residual = i % 97 == 0
                ? Int32.random(in: -100_000...100_000, using: &rng)
                : rng.roughGaussian(sigma: EntropyTables.defaultGaussianScales[Int(index)])
            y.append(means[i] + residual)
        }
        y[0] = .min; y[1] = .max; means[1] = .min
        let z = (0..<192).map { i in Int32(i % 48 == 0 ? 40 : 0) + rng.roughGaussian(sigma: 1.5) }
        return Latents(y: y, yMeans: means, yScaleIndices: indices, z: z, zChannels: 4)
    }

    static func makeFactorizedTables() throws -> EntropyTables {
        let pmfs = (0..<4).map { c in
            let sigma = 0.5 + Double(c)
            let raw = (-8...8).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
            return raw.map { $0 / raw.reduce(0, +) * 0.999 }
        }
        return try EntropyTables.factorized(pmfs: pmfs, firstValues: [-8, -8, -8, -8])
    }

    func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name)
        return Array(try Data(contentsOf: url))
    }

    @Test func goldenStreamsDecodeAndReencodeIdentically() throws {
        if ProcessInfo.processInfo.environment["NACRE_WRITE_GOLDEN"] == "1" { try writeFixtures() }
        let gaussian = try EntropyTables(serialized: try fixture("golden-gaussian-tables.nxet"))
        let factorized = try EntropyTables(serialized: try fixture("golden-factorized-tables.nxet"))
        let latents = try JSONDecoder().decode(Latents.self, from: Data(try fixture("golden-latents.json")))
        let yStream = try fixture("golden-y.rans")
        let zStream = try fixture("golden-z.rans")

        let y = try LatentCoder.decodeGaussian(yStream, scaleIndices: latents.yScaleIndices, means: latents.yMeans, tables: gaussian)
        #expect(y == latents.y)
        let z = try LatentCoder.decodeFactorized(zStream, channelCount: latents.zChannels, elementCount: latents.z.count, tables: factorized)
        #expect(z == latents.z)

        #expect(try LatentCoder.encodeGaussian(latents.y, scaleIndices: latents.yScaleIndices, means: latents.yMeans, tables: gaussian) == yStream)
        #expect(try LatentCoder.encodeFactorized(latents.z, channelCount: latents.zChannels, tables: factorized) == zStream)
    }

    /// The integer hyper-synthesis must keep mapping the committed z to the committed indices
    /// (guards its rounding, clamping, padding and tap conventions against "optimisations").
    @Test func goldenHyperSynthesisIndices() throws {
        if ProcessInfo.processInfo.environment["NACRE_WRITE_GOLDEN"] == "1" { try writeFixtures() }
        let network = try IntegerHyperSynthesis(serialized: try fixture("golden-hyper-synthesis.nxhs"))
        let golden = try JSONDecoder().decode(HyperSynthesisCase.self, from: Data(try fixture("golden-hyper-synthesis.json")))
        let z = try IntegerFeatureMap(channels: golden.zChannels, height: golden.zHeight, width: golden.zWidth, values: golden.z)
        #expect(try network.scaleIndices(for: z) == golden.expectedIndices)
        #expect(Set(golden.expectedIndices).count > 10)
    }

    /// Tables are stored with the model, so decoding never depends on this; a failure here means
    /// this machine's libm erfc/exp differs and freshly built tables would differ from stored ones.
    @Test func freshlyBuiltTablesMatchTheCommittedOnes() throws {
        #expect(try EntropyTables.gaussian().serialized() == (try fixture("golden-gaussian-tables.nxet")),
                "this libm builds different Gaussian tables; models must carry their stored tables")
        #expect(try Self.makeFactorizedTables().serialized() == (try fixture("golden-factorized-tables.nxet")))
    }

    private func writeFixtures() throws {
        let latents = Self.makeLatents()
        let gaussian = try EntropyTables.gaussian()
        let factorized = try Self.makeFactorizedTables()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var files: [(String, [UInt8])] = [
            ("golden-gaussian-tables.nxet", gaussian.serialized()),
            ("golden-factorized-tables.nxet", factorized.serialized()),
            ("golden-latents.json", Array(try encoder.encode(latents))),
            ("golden-y.rans", try LatentCoder.encodeGaussian(latents.y, scaleIndices: latents.yScaleIndices, means: latents.yMeans, tables: gaussian)),
            ("golden-z.rans", try LatentCoder.encodeFactorized(latents.z, channelCount: latents.zChannels, tables: factorized)),
        ]
        let hyperLayers = try IntegerHyperSynthesisTests.randomFloatHyperSynthesis(zChannels: 4, hidden: 8, yChannels: 6, seed: 71)
        var z = try IntegerHyperSynthesisTests.randomZ(channels: 4, height: 3, width: 5, seed: 72)
        z.values[0] = 10_000; z.values[7] = -10_000  // exercises the input clamp
        let hyper = try IntegerHyperSynthesis.quantizing(hyperLayers, calibration: [z])
        let hyperCase = HyperSynthesisCase(zChannels: 4, zHeight: 3, zWidth: 5, z: z.values, expectedIndices: try hyper.scaleIndices(for: z))
        files.append(("golden-hyper-synthesis.nxhs", hyper.serialized()))
        files.append(("golden-hyper-synthesis.json", Array(try encoder.encode(hyperCase))))
        for (name, bytes) in files {
            try Data(bytes).write(to: Self.sourceFixtures.appendingPathComponent(name), options: .atomic)
        }
    }
}
