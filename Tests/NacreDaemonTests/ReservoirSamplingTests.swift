import Foundation
import NacreEngine
import NacreImage
import Testing
@testable import NacreDaemon

/// The crop reservoir's sampling rule (Algorithm R), its held-back split, its crop size rule and
/// the re-training schedule. Seeded (`SeededRandom`), so the statistics are reproducible.
@Suite("Reservoir sampling")
struct ReservoirSamplingTests {
    /// Runs the sampler over `offers` items into a reservoir of `capacity`; returns the kept items.
    static func sample(offers: Int, capacity: Int, generator: inout SeededRandom) -> [Int] {
        let sampler = ReservoirSampler(capacity: capacity)
        var kept: [Int] = []
        for item in 0..<offers {
            switch sampler.decide(offeredBefore: item, held: kept.count, random: { Int.random(in: 0..<$0, using: &generator) }) {
            case .add: kept.append(item)
            case .replace(let slot): kept[slot] = item
            case .skip: break
            }
        }
        return kept
    }

    /// Every item of the history is kept with probability k/n: a chi-square test of the counts
    /// over many runs (99 degrees of freedom; 148.2 is the 0.1 % critical value). A sampler that
    /// favours recent items (e.g. a FIFO) scores in the thousands. The runs go on a thread of
    /// their own, so this CPU-bound loop never holds a cooperative thread that the timing-sensitive
    /// socket suites beside it need.
    @Test func everyOfferedItemIsKeptWithProbabilityKOverN() async {
        let offers = 100, capacity = 10, runs = 10_000
        let (counts, malformed) = await offPool { () -> ([Int], Int) in
            var generator = SeededRandom(seed: 42)
            var counts = [Int](repeating: 0, count: offers)
            var malformed = 0
            for _ in 0..<runs {
                let kept = Self.sample(offers: offers, capacity: capacity, generator: &generator)
                if kept.count != capacity || Set(kept).count != capacity { malformed += 1 }
                for item in kept { counts[item] += 1 }
            }
            return (counts, malformed)
        }
        #expect(malformed == 0, "\(malformed) runs did not keep exactly \(capacity) different items")
        let expected = Double(runs * capacity) / Double(offers)
        let chiSquare = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        #expect(chiSquare < 148.2, "chi-square \(chiSquare) over \(offers) items; counts \(counts)")
        // The oldest and the newest tenth are kept equally often (within 5 %).
        let oldest = counts.prefix(10).reduce(0, +), newest = counts.suffix(10).reduce(0, +)
        #expect(abs(Double(oldest - newest)) / Double(newest) < 0.05, "oldest \(oldest), newest \(newest)")
    }

    @Test func fillsFirstThenNeverGrowsAndOffIsEmpty() {
        var generator = SeededRandom(seed: 7)
        #expect(Self.sample(offers: 5, capacity: 10, generator: &generator) == [0, 1, 2, 3, 4])
        #expect(Self.sample(offers: 1000, capacity: 10, generator: &generator).count == 10)
        #expect(Self.sample(offers: 50, capacity: 0, generator: &generator).isEmpty)
        // A reservoir that lost crops (or grew) refills before replacing.
        #expect(ReservoirSampler(capacity: 10).decide(offeredBefore: 500, held: 3, random: { _ in 0 }) == .add)
    }

    /// The held-back split depends on the source alone and holds back the configured share.
    @Test func holdsBackAStableShareOfSources() {
        var generator = SeededRandom(seed: 3)
        let sources = (0..<10_000).map { _ in String(generator.next(), radix: 16) + String(repeating: "0", count: 48) }
            .map { String(repeating: "0", count: max(0, 64 - $0.count)) + $0 }
        let held = sources.filter { ReservoirSampler.isHeldBack(sourceSHA256: $0, percent: 10) }
        // 10 % of 10,000 has a standard deviation of 30; 5 σ either side.
        #expect(abs(held.count - 1000) < 150, "\(held.count) held back")
        for source in sources.prefix(1000) {
            // Raising the share only adds sources: none moves from held back to training.
            if ReservoirSampler.isHeldBack(sourceSHA256: source, percent: 10) {
                #expect(ReservoirSampler.isHeldBack(sourceSHA256: source, percent: 20))
            }
        }
        #expect(!ReservoirSampler.isHeldBack(sourceSHA256: "0000" + String(repeating: "0", count: 60), percent: 0))
    }

    @Test func cropsAreSquareMultiplesOf64InsideTheImage() throws {
        let image = try PixelBuffer(width: 200, height: 130, rgb: (0..<(200 * 130 * 3)).map { UInt8($0 % 251) })
        let crop = try #require(try CropReservoir.crop(image, side: 256, random: { $0 - 1 }))
        #expect(crop.width == 128 && crop.height == 128)
        // The last position: the bottom-right corner of the image.
        #expect(Array(crop.rgb.suffix(3)) == Array(image.rgb.suffix(3)))
        #expect(try CropReservoir.crop(image, side: 64, random: { _ in 0 })?.width == 64)
        let small = try PixelBuffer(width: 63, height: 300, rgb: [UInt8](repeating: 9, count: 63 * 300 * 3))
        #expect(try CropReservoir.crop(small, side: 256, random: { _ in 0 }) == nil)
    }

    @Test func scheduleIsDueAfterItsTime() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        let now = try #require(ISO8601DateFormatter().date(from: "2026-11-24T04:00:00Z"))
        let daily = RetrainTimer(schedule: .daily(hour: 3, minute: 30))
        #expect(daily.isDue(now: now, lastStarted: now.addingTimeInterval(-3600), calendar: calendar))  // 03:00, before 03:30
        #expect(!daily.isDue(now: now, lastStarted: now.addingTimeInterval(-600), calendar: calendar))  // 03:50, after it
        #expect(!RetrainTimer(schedule: .daily(hour: 5, minute: 0)).isDue(now: now, lastStarted: now.addingTimeInterval(-3600 * 20), calendar: calendar))
        #expect(RetrainTimer(schedule: .daily(hour: 5, minute: 0)).isDue(now: now, lastStarted: now.addingTimeInterval(-3600 * 24), calendar: calendar))
        let every = RetrainTimer(schedule: .every(seconds: 3600))
        #expect(every.isDue(now: now, lastStarted: now.addingTimeInterval(-3600)))
        #expect(!every.isDue(now: now, lastStarted: now.addingTimeInterval(-3599)))
        #expect(!RetrainTimer(schedule: .off).isDue(now: now, lastStarted: .distantPast))
    }
}
