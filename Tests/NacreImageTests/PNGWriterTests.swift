import Testing
import NacreImage

@Suite("PNG writer")
struct PNGWriterTests {
    /// A deterministic test pattern with every kind of value, and an alpha plane.
    static func pattern(width: Int, height: Int, seed: UInt64) throws -> PixelBuffer {
        var state = seed
        func next() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let rgb = (0..<(width * height * 3)).map { _ in next() }
        let alpha = (0..<(width * height)).map { _ in next() }
        return try PixelBuffer(width: width, height: height, rgb: rgb, alpha: alpha)
    }

    @Test("restoring writes the source's mode and the pixels survive", arguments: Fixtures.expectedPNGs)
    func restoreRoundTrip(_ fixture: Fixtures.ExpectedPNG) throws {
        let original = try PNGReader.decode(fixture.data())
        let layout = PNGLayout(restoring: original.source)
        let restored = try PNGReader.decode(PNGWriter.encode(original.pixels, restoring: original.source))

        let expectedType: SourceFormat.ColorType = switch layout.channels {
        case .gray: .gray
        case .grayAlpha: .grayAlpha
        case .rgb: .rgb
        case .rgba: .rgba
        }
        #expect(restored.source == SourceFormat(colorType: expectedType, bitDepth: original.source.bitDepth == 16 ? 16 : 8,
                                                isInterlaced: false, hasAlpha: original.source.hasAlpha))
        if original.source.colorType == .palette { #expect(layout.channels.hasColor) }
        if [.gray, .grayAlpha].contains(original.source.colorType) { #expect(!layout.channels.hasColor) }
        #expect(restored.pixels.alpha == original.pixels.alpha)
        expectSameColor(restored.pixels, original.pixels, ignoringTransparent: layout.is16Bit && layout.channels.hasAlpha)
    }

    @Test("every layout writes and reads back, compact and fast", arguments: PNGLayout.Channels.allCases, [false, true])
    func layouts(_ channels: PNGLayout.Channels, is16Bit: Bool) throws {
        let pixels = try Self.pattern(width: 13, height: 9, seed: 7)
        for fast in [false, true] {
            let png = try PNGWriter.encode(pixels, layout: PNGLayout(channels: channels, is16Bit: is16Bit), fast: fast)
            let decoded = try PNGReader.decode(png)
            #expect(decoded.source.bitDepth == (is16Bit ? 16 : 8))
            #expect(decoded.source.isInterlaced == false)
            #expect(decoded.pixels.alpha == (channels.hasAlpha ? pixels.alpha : nil))
            // The compact (simplified-API) writer loses the colour of fully transparent 16-bit pixels.
            let ignoringTransparent = is16Bit && channels.hasAlpha && !fast

            if channels.hasColor {
                expectSameColor(decoded.pixels, pixels, ignoringTransparent: ignoringTransparent)
            } else {
                // Gray stores the rounded mean of R, G, B.
                var grayRGB: [UInt8] = []
                for index in stride(from: 0, to: pixels.rgb.count, by: 3) {
                    let sum = Int(pixels.rgb[index]) + Int(pixels.rgb[index + 1]) + Int(pixels.rgb[index + 2])
                    let mean = UInt8((sum + 1) / 3)
                    grayRGB += [mean, mean, mean]
                }
                let expected = try PixelBuffer(width: 13, height: 9, rgb: grayRGB, alpha: pixels.alpha)
                #expect(decoded.pixels.isGray)
                expectSameColor(decoded.pixels, expected, ignoringTransparent: ignoringTransparent)
            }
        }
    }

    @Test("fast mode writes a bigger file with the same pixels")
    func fastMode() throws {
        // A smooth image, where compression effort shows.
        var rgb: [UInt8] = []
        for y in 0..<64 { for x in 0..<64 { rgb += [UInt8(x * 4), UInt8(y * 4), UInt8((x + y) * 2)] } }
        let pixels = try PixelBuffer(width: 64, height: 64, rgb: rgb)
        let compact = try PNGWriter.encode(pixels, layout: PNGLayout(channels: .rgb))
        let fast = try PNGWriter.encode(pixels, layout: PNGLayout(channels: .rgb), fast: true)
        #expect(fast.count > compact.count)
        #expect(try PNGReader.decode(fast).pixels == pixels)
    }

    @Test("an alpha layout without an alpha plane writes opaque pixels")
    func opaqueAlpha() throws {
        let pixels = try PixelBuffer(width: 3, height: 2, rgb: Array(0..<18))
        for is16Bit in [false, true] {
            let decoded = try PNGReader.decode(PNGWriter.encode(pixels, layout: PNGLayout(channels: .rgba, is16Bit: is16Bit)))
            #expect(decoded.pixels.alpha == [UInt8](repeating: 255, count: 6))
            #expect(decoded.pixels.rgb == pixels.rgb)
        }
    }

    @Test("16-bit RGBA keeps every 8-bit colour at every alpha from 1 to 255")
    func sixteenBitAlphaPrecision() throws {
        // Row = alpha, column = colour value: all 65,536 combinations.
        var rgb: [UInt8] = [], alpha: [UInt8] = []
        for a in 0...255 {
            for c in 0...255 {
                rgb += [UInt8(c), UInt8(255 - c), UInt8(c / 2)]
                alpha.append(UInt8(a))
            }
        }
        let pixels = try PixelBuffer(width: 256, height: 256, rgb: rgb, alpha: alpha)
        let decoded = try PNGReader.decode(PNGWriter.encode(pixels, layout: PNGLayout(channels: .rgba, is16Bit: true)))
        #expect(decoded.pixels.alpha == alpha)
        expectSameColor(decoded.pixels, pixels, ignoringTransparent: true)
    }

    @Test("16-bit output is labelled sRGB, not linear gamma")
    func sixteenBitChunks() throws {
        let pixels = try Self.pattern(width: 5, height: 4, seed: 3)
        for layout in [PNGLayout(channels: .rgb, is16Bit: true), PNGLayout(channels: .grayAlpha, is16Bit: true), PNGLayout(channels: .rgb)] {
            let png = try PNGWriter.encode(pixels, layout: layout)
            let types = Fixtures.chunks(of: png).map(\.type)
            #expect(types.first == "IHDR")
            #expect(types.contains("sRGB"))
            #expect(!types.contains("gAMA") && !types.contains("cHRM"), "\(types)")
        }
    }

    @Test("mismatched arrays cannot make a pixel buffer")
    func invalidBuffers() {
        #expect(errorCode { try PixelBuffer(width: 2, height: 2, rgb: [UInt8](repeating: 0, count: 11)) } == .invalidPixels)
        #expect(errorCode { try PixelBuffer(width: 2, height: 2, rgb: [UInt8](repeating: 0, count: 12), alpha: [1, 2, 3]) } == .invalidPixels)
        #expect(errorCode { try PixelBuffer(width: 0, height: 2, rgb: []) } == .invalidPixels)
        #expect(errorCode { try PixelBuffer(width: -1, height: -2, rgb: [0, 0, 0, 0, 0, 0]) } == .invalidPixels)
        #expect(errorCode { try PixelBuffer(width: 1 << 31, height: 1 << 31, rgb: [0, 0, 0]) } == .invalidPixels)
        #expect(errorCode { try PixelBuffer(width: .max, height: 2, rgb: [0, 0, 0]) } == .invalidPixels)
    }
}

/// Expects equal size and colour; with `ignoringTransparent`, pixels whose alpha is 0 in
/// `expected` are skipped (16-bit alpha output cannot keep their colour; see PNGWriter).
func expectSameColor(_ actual: PixelBuffer, _ expected: PixelBuffer, ignoringTransparent: Bool,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.width == expected.width && actual.height == expected.height, sourceLocation: sourceLocation)
    guard actual.rgb.count == expected.rgb.count else { return }
    guard ignoringTransparent, let alpha = expected.alpha else {
        #expect(actual.rgb == expected.rgb, sourceLocation: sourceLocation)
        return
    }
    let mismatches = expected.rgb.indices.filter { alpha[$0 / 3] > 0 && actual.rgb[$0] != expected.rgb[$0] }
    #expect(mismatches.isEmpty, "\(mismatches.count) colour samples differ, first at \(mismatches.first ?? -1)", sourceLocation: sourceLocation)
}
