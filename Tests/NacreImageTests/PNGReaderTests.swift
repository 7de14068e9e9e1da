import Foundation
import Testing
import NacreImage

@Suite("PNG reader")
struct PNGReaderTests {
    @Test("every colour type and bit depth decodes to the expected pixels", arguments: Fixtures.expectedPNGs)
    func decodesFixture(_ fixture: Fixtures.ExpectedPNG) throws {
        let decoded = try PNGReader.decode(fixture.data())
        #expect(decoded.source == fixture.source)
        #expect(decoded.pixels.width == fixture.width)
        #expect(decoded.pixels.height == fixture.height)
        #expect(decoded.pixels.alpha == fixture.alpha)
        guard fixture.source.bitDepth == 16 && fixture.source.isInterlaced && fixture.source.hasAlpha else {
            #expect(decoded.pixels.rgb == fixture.rgb)
            return
        }
        // Documented exception: colour goes through libpng's premultiplied 16-bit form.
        let alpha = try #require(fixture.alpha)
        var exact = 0, compared = 0
        for index in fixture.rgb.indices where alpha[index / 3] > 0 {
            let difference = abs(Int(decoded.pixels.rgb[index]) - Int(fixture.rgb[index]))
            #expect(difference <= 1, "sample \(index): \(decoded.pixels.rgb[index]) vs \(fixture.rgb[index])")
            compared += 1
            exact += difference == 0 ? 1 : 0
        }
        #expect(exact * 10 >= compared * 9, "\(exact) of \(compared) samples exact")
    }

    @Test("the fixture set covers every colour type, bit depth, tRNS and interlacing")
    func fixtureCoverage() {
        let sources = Set(Fixtures.expectedPNGs.map(\.source))
        for colorType in SourceFormat.ColorType.allCases {
            for depth in colorType.allowedBitDepths {
                #expect(sources.contains { $0.colorType == colorType && $0.bitDepth == depth && !$0.isInterlaced },
                        "no fixture for \(colorType) at \(depth) bits")
            }
        }
        for colorType in [SourceFormat.ColorType.gray, .rgb, .palette] {
            #expect(sources.contains { $0.colorType == colorType && $0.hasAlpha }, "no tRNS fixture for \(colorType)")
        }
        #expect(sources.filter(\.isInterlaced).count >= 3)
    }

    @Test("a gAMA 1.0 (linear) 8-bit file is converted to sRGB: brighter, endpoints kept")
    func linearGammaConverted() throws {
        let fixture = try #require(Fixtures.gammaPNGs.first { $0.file == "rgb8_gamma1.png" })
        let decoded = try PNGReader.decode(fixture.data())
        #expect(decoded.source == fixture.source)
        let raw = fixture.rgb, converted = decoded.pixels.rgb
        #expect(Array(converted.prefix(3)) == [0, 0, 0])
        #expect(Array(converted.suffix(3)) == [255, 255, 255])
        #expect(zip(converted, raw).allSatisfy { $0 >= $1 })
        #expect(zip(converted, raw).filter { $0 > $1 }.count > raw.count / 2)
    }

    @Test("a 16-bit interlaced file keeps its samples whatever its gAMA chunk says (documented)")
    func sixteenBitInterlacedIgnoresGamma() throws {
        let fixture = try #require(Fixtures.gammaPNGs.first { $0.file == "rgb16_interlaced_gamma1.png" })
        #expect(try PNGReader.decode(fixture.data()).pixels.rgb == fixture.rgb)
    }

    @Test("reading from a file path, [UInt8] or Data gives the same image")
    func readsFile() throws {
        let fixture = try #require(Fixtures.expectedPNGs.first { $0.file == "rgba16.png" })
        let fromFile = try PNGReader.read(contentsOfFile: Fixtures.url("png/rgba16.png").path)
        #expect(fromFile == (try PNGReader.decode(fixture.data())))
        #expect(fromFile == (try PNGReader.decode(Data(fixture.data()))))
    }

    @Test("a decompression bomb header is refused as tooLarge, quickly")
    func refusesBomb() throws {
        let data = try Fixtures.bytes("png/bomb_60000x60000.png")
        #expect(data.count < 200)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(errorCode { try PNGReader.decode(data) } == .tooLarge)
        }
        #expect(elapsed < .milliseconds(100))
        // Also under generous limits that still stop short of 3.6 gigapixels.
        let generous = ImageLimits(maxWidth: 100_000, maxHeight: 100_000, maxPixels: 1_000_000_000)
        #expect(errorCode { try PNGReader.decode(data, limits: generous) } == .tooLarge)
    }

    @Test("impossible header dimensions are refused with a typed error")
    func refusesImpossibleDimensions() throws {
        #expect(errorCode { try PNGReader.decode(Fixtures.bytes("png/width_2pow31.png")) } == .tooLarge)
        #expect(errorCode { try PNGReader.decode(Fixtures.bytes("png/width_zero.png")) } == .corrupt)
        // With limits wide open, 2^31 still fails cleanly (libpng refuses it) instead of allocating.
        let open = ImageLimits(maxWidth: .max, maxHeight: .max, maxPixels: .max)
        #expect(errorCode { try PNGReader.decode(Fixtures.bytes("png/width_2pow31.png"), limits: open) } == .corrupt)
    }

    @Test("custom limits apply to width, height and pixel count")
    func customLimits() throws {
        let data = try Fixtures.bytes("png/rgb8.png")  // 7×5
        #expect(errorCode { try PNGReader.decode(data, limits: ImageLimits(maxWidth: 6)) } == .tooLarge)
        #expect(errorCode { try PNGReader.decode(data, limits: ImageLimits(maxHeight: 4)) } == .tooLarge)
        #expect(errorCode { try PNGReader.decode(data, limits: ImageLimits(maxPixels: 34)) } == .tooLarge)
        #expect(throws: Never.self) { try PNGReader.decode(data, limits: ImageLimits(maxWidth: 7, maxHeight: 5, maxPixels: 35)) }
        // Nonsense limits refuse everything instead of trapping.
        #expect(errorCode { try PNGReader.decode(data, limits: ImageLimits(maxWidth: -1, maxHeight: .min, maxPixels: -5)) } == .tooLarge)
    }

    @Test("empty input and non-PNG input have their own codes")
    func emptyAndNotPNG() throws {
        #expect(errorCode { try PNGReader.decode([UInt8]()) } == .empty)
        #expect(errorCode { try PNGReader.decode(Array("GIF89a, not a PNG at all".utf8)) } == .notPNG)
        #expect(errorCode { try PNGReader.decode([0xFF, 0xD8, 0xFF, 0xE0]) } == .notPNG)
        // A JSON file happens to be where real users drop garbage too.
        #expect(errorCode { try PNGReader.decode(Fixtures.bytes("expected_pixels.json")) } == .notPNG)
    }

    @Test("a PNG cut short anywhere is truncated", arguments: ["rgb8.png", "gray16_trns.png", "rgba8_interlaced.png"])
    func truncated(_ file: String) throws {
        let data = try Fixtures.bytes("png/" + file)
        let idat = try #require(Fixtures.chunks(of: data).first { $0.type == "IDAT" })
        let cuts = [1, 4, 8, 9, 16, 20, 32, idat.range.lowerBound + 4, idat.range.lowerBound + 10, idat.range.upperBound - 1, data.count - 12, data.count - 1]
        for cut in cuts {
            let error = captureError { try PNGReader.decode(Array(data[0..<cut])) }
            #expect(error?.code == .truncated, "cut at \(cut) of \(data.count): \(String(describing: error))")
        }
    }

    @Test("a flipped byte anywhere after the signature is caught as corrupt", arguments: ["rgb8.png", "palette4_trns.png", "grayAlpha16.png"])
    func flippedByte(_ file: String) throws {
        let data = try Fixtures.bytes("png/" + file)
        // Every byte after the signature: length fields, types, data and CRCs. A flipped length
        // can also make the stream look cut short, so truncated is accepted there.
        var codes: [ImageError.Code: Int] = [:]
        for index in 8..<data.count {
            var damaged = data
            damaged[index] ^= 0x10
            let error = captureError { try PNGReader.decode(damaged) }
            let code = try #require(error?.code, "flipping byte \(index) of \(file) was not detected")
            #expect([.corrupt, .truncated, .unsupported, .tooLarge].contains(code), "byte \(index): \(code)")
            codes[code, default: 0] += 1
        }
        #expect(codes[.corrupt, default: 0] > data.count / 2)
    }

    @Test("random damage (flips, cuts, splices) never crashes: a decode or a typed error")
    func randomDamage() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let files = try Fixtures.expectedPNGs.map { try $0.data() }
        var outcomes: [String: Int] = [:]
        for _ in 0..<600 {
            var data = files[random(files.count)]
            switch random(3) {
            case 0:  // several flipped bytes
                for _ in 0..<(1 + random(4)) { data[8 + random(data.count - 8)] ^= UInt8(1 + random(255)) }
            case 1:  // a cut followed by the tail of another file
                let other = files[random(files.count)]
                data = Array(data[0..<(8 + random(data.count - 8))]) + other[(8 + random(other.count - 8))...]
            default:  // a run of bytes overwritten with noise
                let start = 8 + random(data.count - 8)
                for index in start..<min(data.count, start + 1 + random(16)) { data[index] = UInt8(random(256)) }
            }
            do {
                _ = try PNGReader.decode(data)
                outcomes["decoded", default: 0] += 1
            } catch {
                outcomes[error.code.description, default: 0] += 1
            }
        }
        #expect(outcomes["corrupt", default: 0] > 300, "\(outcomes)")
    }

    @Test("a zlib stream that does not inflate (valid CRCs) is corrupt")
    func badZlib() throws {
        let error = captureError { try PNGReader.decode(Fixtures.bytes("png/bad_zlib.png")) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("libpng") == true)
    }

    @Test("the file reader refuses directories, FIFOs, symlinks, missing and oversized files")
    func fileChecks() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-image-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let real = Fixtures.url("png/rgb8.png").path
        let link = folder.appendingPathComponent("link.png").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)

        let fifo = folder.appendingPathComponent("fifo.png").path
        #expect(mkfifo(fifo, 0o600) == 0)

        #expect(errorCode { try PNGReader.read(contentsOfFile: fifo) } == .unreadable)
        #expect(errorCode { try PNGReader.read(contentsOfFile: folder.path) } == .unreadable)
        #expect(errorCode { try PNGReader.read(contentsOfFile: link) } == .unreadable)
        #expect(errorCode { try PNGReader.read(contentsOfFile: folder.appendingPathComponent("missing.png").path) } == .unreadable)
        #expect(errorCode { try PNGReader.read(contentsOfFile: real, limits: ImageLimits(maxFileBytes: 100)) } == .tooLarge)
        #expect(throws: Never.self) { try PNGReader.read(contentsOfFile: real) }
    }

    @Test("error messages name the problem and description carries the code")
    func messages() {
        let error = captureError { try PNGReader.decode([UInt8]()) }
        #expect(error?.description.hasPrefix("ImageError.empty: ") == true)
        #expect(error?.message.isEmpty == false)
    }
}

/// The `ImageError` that `body` throws, or nil when it succeeds (another error is a test failure).
func captureError<T>(_ body: () throws -> T) -> ImageError? {
    do {
        _ = try body()
        return nil
    } catch let error as ImageError {
        return error
    } catch {
        Issue.record("expected an ImageError, got \(error)")
        return nil
    }
}

/// The code of the `ImageError` that `body` throws, or nil when it succeeds.
func errorCode<T>(_ body: () throws -> T) -> ImageError.Code? {
    captureError(body)?.code
}
