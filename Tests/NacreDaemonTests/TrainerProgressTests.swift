import Foundation
import Testing
@testable import NacreDaemon

/// `status`'s `retrain.step`: the last step a child trainer logged, read from the tail of its log.
struct TrainerProgressTests {
    static func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-progress-\(UUID().uuidString)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func theDecodersStepComesFromItsJSONLog() throws {
        let path = try Self.file("{\"step\":10,\"loss\":1}\n{\"step\":20,\"loss\":0.9}\n{\"kind\":\"validation\"}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(ModelLifecycle.lastLoggedStep(path) == 20)
        #expect(ModelLifecycle.lastLoggedStep(path + ".missing") == nil)
    }

    @Test func theDenoisersStepComesFromItsProgressLines() throws {
        let path = try Self.file("""
            pairs: 143 training crops from 143 photos, 20 held-back crops from 20 photos (8 model levels)
            step 50  loss 12.345 (MSE, 8-bit²)  40.00 steps/s
            step 100  loss 11.002 (MSE, 8-bit²)  41.00 steps/s
            validation @100: mean gain +0.120 dB; q1 +0.200
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(ModelLifecycle.lastDenoiserStep(path) == 100)
        let none = try Self.file("coding crops: 50/143\n")
        defer { try? FileManager.default.removeItem(atPath: none) }
        #expect(ModelLifecycle.lastDenoiserStep(none) == nil)
    }
}
