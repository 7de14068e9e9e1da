import Foundation
import Logging
import Testing
@testable import NacreCodec

/// What a training run holds back and validates on depends on the photos, not on how their
/// folders are spelled or listed.
struct TrainingImageSetTests {
    @Test func theSplitAndTheValidationCropsIgnoreFolderSpelling() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-split-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Two folders of 8 files, each folder from another photo, so the order of images shows.
        for (folder, photo, prefix) in [("one", "photo001-crop128.png", "p"), ("two", "photo007-crop128.png", "q")] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: HyperpriorModelTests.photoFolder + "/" + photo))
            for index in 0..<8 { try bytes.write(to: URL(fileURLWithPath: "\(root)/\(folder)/\(prefix)\(index).png")) }
        }
        try FileManager.default.createDirectory(atPath: "\(root)/zz", withIntermediateDirectories: true)
        let logger = CodecFixtures.quietLogger
        let plain = try TrainingImageSet(folders: ["\(root)/one", "\(root)/two"], minimumSide: 64, heldBackOneIn: 2, logger: logger)
        // "zz/../one" sorts after "two" by path, before it by file name.
        let respelled = try TrainingImageSet(folders: ["\(root)/two", "\(root)/zz/../one"], minimumSide: 64, heldBackOneIn: 2,
                                             logger: logger)
        let names = { (set: TrainingImageSet) in set.trainingPaths.map { ($0 as NSString).lastPathComponent } }
        #expect(plain.trainingPaths != respelled.trainingPaths)
        #expect(names(plain) == names(respelled))
        #expect(!plain.validation.isEmpty && !plain.training.isEmpty)
        let sameCrops = plain.validationCrops(size: 64, limit: 3) == respelled.validationCrops(size: 64, limit: 3)
        #expect(sameCrops, "the validation crops depend on how the folders are spelled")
    }
}
