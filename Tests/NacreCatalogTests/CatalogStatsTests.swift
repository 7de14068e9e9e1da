import Foundation
import Testing
@testable import NacreCatalog

@Suite("Catalog statistics")
struct CatalogStatsTests {
    @Test("An empty catalog has zero counts and no ratios")
    func empty() async throws {
        try await withTemporaryCatalog { catalog, _ in
            let stats = try await catalog.stats()
            #expect(stats.imageCount == 0 && stats.originalBytes == 0 && stats.perModel.isEmpty)
            #expect(stats.latentRatio == nil && stats.bitsPerPixel == nil && stats.meanPSNR == nil)
        }
    }

    @Test("Totals, ratios, bpp, mean PSNR and per-model counts on known data")
    func knownNumbers() async throws {
        try await withTemporaryCatalog { catalog, _ in
            // Model 1: archive m1 (1000 bytes) with two images; model 2: archive m2 (500 bytes) with one.
            try await catalog.indexArchive(Fixture.archive("m1", model: 1, bytes: 1000), images: [
                Fixture.image("a", width: 100, height: 50, originalBytes: 10_000, latentBytes: 500, psnr: 30, msSSIM: 0.9),
                Fixture.image("b", width: 200, height: 100, originalBytes: 40_000, latentBytes: 1500, psnr: 34, msSSIM: 0.95, frame: 1),
            ])
            try await catalog.indexArchive(Fixture.archive("m2", model: 2, bytes: 500), images: [
                Fixture.image("c", width: 50, height: 50, originalBytes: 2_000, latentBytes: 125, psnr: 38, msSSIM: 1.0),
            ])
            // An archive that is not indexed yet does not count.
            try await catalog.insertArchive(Fixture.archive("open", model: 2, bytes: 99_999, state: .open))

            let stats = try await catalog.stats()
            #expect(stats.imageCount == 3)
            #expect(stats.archiveCount == 2)
            #expect(stats.originalBytes == 52_000)
            #expect(stats.latentBytes == 2_125)
            #expect(stats.archiveBytes == 1_500)
            #expect(stats.pixelCount == 5_000 + 20_000 + 2_500)
            #expect(abs(stats.latentRatio! - 52_000.0 / 2_125.0) < 1e-12)
            #expect(abs(stats.archiveRatio! - 52_000.0 / 1_500.0) < 1e-12)
            #expect(abs(stats.bitsPerPixel! - 17_000.0 / 27_500.0) < 1e-12)
            #expect(abs(stats.meanPSNR! - 34.0) < 1e-12)
            #expect(abs(stats.meanMSSSIM! - 0.95) < 1e-12)
            #expect(stats.perModel == [
                .init(modelID: Fixture.hex(1), archiveCount: 1, imageCount: 2, originalBytes: 50_000, latentBytes: 2_000),
                .init(modelID: Fixture.hex(2), archiveCount: 1, imageCount: 1, originalBytes: 2_000, latentBytes: 125),
            ])
            // Per-image bpp helper agrees with the definition.
            #expect(Fixture.image("d", width: 100, height: 50, latentBytes: 500).bitsPerPixel == 0.8)
        }
    }
}
