import CPNG
#if canImport(Glibc)
import Glibc
#endif

/// Writes a `PixelBuffer` as a PNG with libpng.
///
/// Output is never interlaced nor palette-based and carries an sRGB chunk. 8-bit layouts store
/// the samples as they are. 16-bit layouts store each 8-bit value v as v·257 (alpha too, and
/// colour unchanged under any alpha, fully transparent pixels included), so reading the file
/// back gives v again: only 8-bit precision survives a 16-bit round trip.
public enum PNGWriter {
    /// Encodes `pixels` in `layout`.
    ///
    /// - Gray layouts store the rounded mean (R+G+B)/3 of each pixel. A gray source decodes to
    ///   R = G = B, where the mean is that value exactly; after lossy coding the three channels
    ///   are three noisy estimates of the one gray level, and their mean is the least-squares one.
    /// - Alpha layouts store `pixels.alpha`, or 255 everywhere when it is nil; layouts without
    ///   alpha drop `pixels.alpha`.
    ///
    /// 8-bit layouts go through libpng's simplified writer, 16-bit ones through its full writer
    /// (the simplified one takes 16-bit colour premultiplied and loses the colour of transparent
    /// pixels). `fast` favours speed over size: the full writer with the "up" filter on every row
    /// and zlib level 1 (a 1 MP socket restore: p50 137 ms instead of 356 ms, a 7 % larger file;
    /// BENCHMARKS.md); the samples are the same either way.
    public static func encode(_ pixels: PixelBuffer, layout: PNGLayout, fast: Bool = false) throws(ImageError) -> [UInt8] {
        guard let rowSamples = Int32(exactly: pixels.width * layout.channels.count), pixels.height <= 0x7FFF_FFFF else {
            throw ImageError(code: .tooLarge, message: "A \(pixels.width)×\(pixels.height) image is too large for a PNG row or column.")
        }
        let samples = interleave(pixels, channels: layout.channels)
        if fast || layout.is16Bit {
            return try writeRows(samples, width: pixels.width, height: pixels.height, layout: layout, fast: fast)
        }
        var image = LibPNG.makeImage()
        image.width = UInt32(pixels.width)
        image.height = UInt32(pixels.height)
        image.format = (layout.channels.hasColor ? LibPNG.formatColor : 0) | (layout.channels.hasAlpha ? LibPNG.formatAlpha : 0)
        return try samples.withUnsafeBytes { raw in
            Result { () throws(ImageError) in try write(&image, samples: raw, rowStride: rowSamples) }
        }.get()
    }

    /// Encodes `pixels` in the mode of the file they came from; see `PNGLayout.init(restoring:)`.
    public static func encode(_ pixels: PixelBuffer, restoring source: SourceFormat) throws(ImageError) -> [UInt8] {
        try encode(pixels, layout: PNGLayout(restoring: source))
    }

    /// Runs libpng's memory writer, first into a buffer big enough for any realistic output,
    /// again with the exact size libpng asks for in the rare case it was not.
    private static func write(_ image: inout png_image, samples: UnsafeRawBufferPointer, rowStride: Int32) throws(ImageError) -> [UInt8] {
        defer { png_image_free(&image) }
        var capacity = samples.count + samples.count / 64 + Int(image.height) + 4096
        for _ in 0..<2 {
            var output = [UInt8](repeating: 0, count: capacity)
            var size = capacity
            let succeeded = output.withUnsafeMutableBytes { buffer in
                png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, samples.baseAddress, rowStride, nil)
            }
            if succeeded != 0 {
                output.removeLast(capacity - size)
                return output
            }
            guard size > capacity else { break }
            capacity = size
            image.warning_or_error = 0
        }
        let detail = LibPNG.message(of: image)
        throw ImageError(code: .unsupported, message: "libpng could not write the PNG: \(detail.isEmpty ? "no reason given" : detail).")
    }

    /// Rows straight to libpng's full writer (via the C shim, which catches libpng's longjmp
    /// errors): the `fast` form, and every 16-bit layout, so that fast and compact files of an
    /// image hold the same samples.
    private static func writeRows(_ samples: [UInt8], width: Int, height: Int, layout: PNGLayout, fast: Bool) throws(ImageError) -> [UInt8] {
        let colorType = (layout.channels.hasColor ? PNG_COLOR_MASK_COLOR : 0) | (layout.channels.hasAlpha ? PNG_COLOR_MASK_ALPHA : 0)
        // Big-endian v·257 is the byte v twice.
        let rows = layout.is16Bit ? samples.flatMap { [$0, $0] } : samples
        var output = nacre_png_output()
        let succeeded = rows.withUnsafeBufferPointer { rows in
            nacre_png_write_rows(rows.baseAddress, UInt32(width), UInt32(height), layout.is16Bit ? 16 : 8, colorType,
                                 rows.count / max(height, 1), fast ? nacre_png_filter_up : nacre_png_all_filters, fast ? 1 : 6, &output)
        }
        defer { free(output.data) }
        guard succeeded != 0, let data = output.data else {
            let message = withUnsafeBytes(of: output.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ImageError(code: .unsupported, message: "libpng could not write the PNG: \(message.isEmpty ? "no reason given" : message).")
        }
        return Array(UnsafeBufferPointer(start: data, count: output.size))
    }

    /// Lays out `pixels` as interleaved 8-bit samples of `channels`.
    private static func interleave(_ pixels: PixelBuffer, channels: PNGLayout.Channels) -> [UInt8] {
        let count = pixels.pixelCount
        if channels == .rgb { return pixels.rgb }
        var output = [UInt8](repeating: 0, count: count * channels.count)
        pixels.rgb.withUnsafeBufferPointer { rgb in
            output.withUnsafeMutableBufferPointer { output in
                let step = channels.count
                for pixel in 0..<count {
                    let r = rgb[3 * pixel], g = rgb[3 * pixel + 1], b = rgb[3 * pixel + 2]
                    if channels.hasColor {
                        output[step * pixel] = r
                        output[step * pixel + 1] = g
                        output[step * pixel + 2] = b
                    } else {
                        output[step * pixel] = UInt8((UInt16(r) + UInt16(g) + UInt16(b) + 1) / 3)
                    }
                    if channels.hasAlpha { output[step * pixel + step - 1] = 255 }
                }
            }
        }
        if channels.hasAlpha, let alpha = pixels.alpha {
            let step = channels.count
            for pixel in 0..<count { output[step * pixel + step - 1] = alpha[pixel] }
        }
        return output
    }
}
