import Foundation
import Testing
import NacreArchive

@Suite("Archive writer atomicity")
struct ArchiveWriterAtomicityTests {
    @Test("Until sealed, only a hidden temporary file exists; abort() removes it")
    func abortLeavesNothing() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let model = ArchiveTestSupport.model()
        let writer = try ArchiveWriter(path: folder + "/batch.nacre", manifest: ArchiveTestSupport.manifest(for: model), model: model)
        for image in ArchiveTestSupport.images(count: 3) { try writer.append(image) }
        let during = try ArchiveTestSupport.contents(of: folder)
        #expect(during.count == 1)
        #expect(during.first?.hasPrefix(".batch.nacre.tmp-") == true)
        #expect(writer.temporaryPath.hasSuffix(during[0]))
        writer.abort()
        #expect(try ArchiveTestSupport.contents(of: folder).isEmpty)
        #expect(throws: ArchiveError.self) { try writer.seal() }
        #expect(try ArchiveTestSupport.contents(of: folder).isEmpty)
    }

    @Test("Dropping an unsealed writer removes its temporary file")
    func deinitLeavesNothing() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let model = ArchiveTestSupport.model()
        do {
            let writer = try ArchiveWriter(path: folder + "/batch.nacre", manifest: ArchiveTestSupport.manifest(for: model), model: model)
            try writer.append(ArchiveTestSupport.images(count: 1)[0])
            #expect(try ArchiveTestSupport.contents(of: folder).count == 1)
        }
        #expect(try ArchiveTestSupport.contents(of: folder).isEmpty)
    }

    @Test("A sealed archive survives the writer being dropped, and abort() after sealing does nothing")
    func sealedSurvives() throws {
        let folder = try ArchiveTestSupport.temporaryFolder()
        defer { ArchiveTestSupport.removeFolder(folder) }
        let model = ArchiveTestSupport.model()
        do {
            let writer = try ArchiveWriter(path: folder + "/batch.nacre", manifest: ArchiveTestSupport.manifest(for: model), model: model)
            try writer.append(ArchiveTestSupport.images(count: 1)[0])
            _ = try writer.seal()
            writer.abort()
        }
        #expect(try ArchiveTestSupport.contents(of: folder) == ["batch.nacre"])
        #expect(try ArchiveReader.open(path: folder + "/batch.nacre").verify().isIntact)
    }

    @Test("A missing destination folder is an I/O error, not a crash")
    func missingFolder() {
        let model = ArchiveTestSupport.model()
        let error = #expect(throws: ArchiveError.self) {
            try ArchiveWriter(path: "/nonexistent-folder-nacre/batch.nacre", manifest: ArchiveTestSupport.manifest(for: model), model: model)
        }
        #expect(error?.code == .ioFailure)
    }
}
