import Testing
@testable import NacreDaemon

/// The config keys the ingest pipeline adds: `encode.model`, `encode.denoiser` and `limits`.
@Suite("Pipeline config")
struct PipelineConfigTests {
    private let minimal = """
        spools: [{name: main, inbox: in}]
        archive_dir: a
        state_dir: s
        quarantine_dir: q
        socket: {path: n.sock}
        """

    private func parse(_ yaml: String) throws -> DaemonConfig {
        try DaemonConfig.parse(yaml: yaml, configPath: "/srv/nacre/etc/nacre.yaml")
    }

    @Test func defaultsAreTheBaseModelAndTheDecoderLimits() throws {
        let config = try parse(minimal)
        #expect(config.modelPath == nil)
        #expect(config.storesModelDenoiser)
        #expect(config.limits == DaemonConfig.Limits(maxFileBytes: 1 << 30, maxPixels: 100_000_000, maxSide: 32_768))
    }

    @Test func modelPathResolvesAgainstTheConfigFolderAndNeedsARestart() throws {
        let config = try parse(minimal + "\nencode: {quality: 60, model: models/mine.nxcm}")
        #expect(config.modelPath == "/srv/nacre/etc/models/mine.nxcm")
        var changed = config
        changed.modelPath = "/other.nxcm"
        #expect(config.restartRequiredChanges(to: changed) == ["encode.model"])
        #expect(config.applyingReloadable(from: changed).modelPath == config.modelPath)
    }

    @Test func theBuiltInDenoiserCanBeLeftOutAndThatNeedsARestart() throws {
        let config = try parse(minimal + "\nencode: {quality: 60, denoiser: false}")
        #expect(!config.storesModelDenoiser)
        var changed = config
        changed.storesModelDenoiser = true
        #expect(config.restartRequiredChanges(to: changed) == ["encode.denoiser"])
        #expect(!config.applyingReloadable(from: changed).storesModelDenoiser)
        #expect(throws: DaemonError.self) { try parse(minimal + "\nencode: {denoiser: sometimes}") }
    }

    @Test func limitsParseAndAreChecked() throws {
        let config = try parse(minimal + "\nlimits: {max_file_bytes: 200 MiB, max_pixels: 4000000, max_side: 4096}")
        #expect(config.limits == DaemonConfig.Limits(maxFileBytes: 200 << 20, maxPixels: 4_000_000, maxSide: 4096))
        #expect(throws: DaemonError.self) { try parse(minimal + "\nlimits: {max_pixels: 0}") }
        #expect(throws: DaemonError.self) { try parse(minimal + "\nlimits: {max_files: 3}") }
    }

    @Test func verifyDecodeParsesAndIsChecked() throws {
        #expect(try parse(minimal).verifyDecode == .full)
        #expect(try parse(minimal + "\nverify: {decode: full, tolerance_db: 0.02}").verifyDecode == .full)
        #expect(try parse(minimal + "\nverify: {decode: latents}").verifyDecode == .latents(pixelCheckEvery: 16))
        #expect(try parse(minimal + "\nverify: {decode: latents, pixel_check_every: 4}").verifyDecode == .latents(pixelCheckEvery: 4))
        #expect(throws: DaemonError.self) { try parse(minimal + "\nverify: {decode: some}") }
        #expect(throws: DaemonError.self) { try parse(minimal + "\nverify: {decode: latents, pixel_check_every: 0}") }
        #expect(throws: DaemonError.self) { try parse(minimal + "\nverify: {pixel_check_every: 4}") }
        #expect(DaemonConfig.VerifyDecode.latents(pixelCheckEvery: 4).decodesPixels(at: 0))
        #expect(!DaemonConfig.VerifyDecode.latents(pixelCheckEvery: 4).decodesPixels(at: 3))
        #expect(DaemonConfig.VerifyDecode.latents(pixelCheckEvery: 4).decodesPixels(at: 8))
    }

    @Test func adaptationParsesAndIsChecked() throws {
        #expect(try parse(minimal).adaptation == nil)
        #expect(try parse(minimal + "\nencode: {quality: 60, adapt_seconds: 0}").adaptation == nil)
        #expect(try parse(minimal + "\nencode: {quality: 60, adapt_seconds: 90}").adaptation == DaemonConfig.Adaptation(seconds: 90, images: 64))
        #expect(try parse(minimal + "\nencode: {quality: 60, adapt_seconds: 30, adapt_images: 8}").adaptation == DaemonConfig.Adaptation(seconds: 30, images: 8))
        #expect(throws: DaemonError.self) { try parse(minimal + "\nencode: {quality: 60, adapt_images: 8}") }
        #expect(throws: DaemonError.self) { try parse(minimal + "\nencode: {quality: 60, adapt_seconds: -1}") }
    }
}
