import CPNG
#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif
import Foundation

/// Reads any PNG into a `DecodedImage` with libpng's simplified API.
///
/// Accepted: every colour type (gray, gray+alpha, RGB, RGBA, palette, with or without tRNS),
/// every bit depth (1, 2, 4, 8, 16), interlaced or not. The pixels come out as 8-bit RGB plus
/// an 8-bit alpha plane when the file has any transparency:
/// - gray is replicated to R = G = B; 1/2/4-bit levels are scaled to 0…255 (a 2-bit 1 is 85);
/// - 16-bit samples are rounded to 8 bits (round(v/257)); a 16-bit file without gAMA/sRGB
///   chunk is taken as sRGB-encoded, not linear, so no gamma curve is applied;
/// - a file with a gAMA chunk differing from sRGB is converted to sRGB by libpng, except
///   16-bit interlaced files, whose samples are taken as sRGB whatever their chunks say;
/// - 16-bit interlaced files with alpha come back with colour rounded through libpng's
///   premultiplied form: within one level of the exact value, and 0 under alpha 0 (a
///   libpng bug forces this path; see `decode(bytes:limits:)`);
/// - colour is never premultiplied by alpha.
///
/// Checks happen in this order, each with its own `ImageError.Code`: empty input (`.empty`),
/// signature (`.notPNG`), a walk over the chunks to IEND (`.truncated` when the stream ends
/// first, `.corrupt` for a bad CRC on any chunk but IDAT), header values (`.corrupt`,
/// `.unsupported`), size against `ImageLimits` (`.tooLarge`, before any pixel allocation),
/// then libpng's decode (`.corrupt` for bad IDAT CRCs or compressed data). Bytes after IEND
/// are ignored. Never traps on bad input.
public enum PNGReader {
    /// Decodes PNG bytes.
    public static func decode(_ data: [UInt8], limits: ImageLimits = .default) throws(ImageError) -> DecodedImage {
        try data.withUnsafeBytes { bytes in Result { () throws(ImageError) in try decode(bytes: bytes, limits: limits) } }.get()
    }

    /// Decodes PNG bytes.
    public static func decode(_ data: Data, limits: ImageLimits = .default) throws(ImageError) -> DecodedImage {
        try data.withUnsafeBytes { bytes in Result { () throws(ImageError) in try decode(bytes: bytes, limits: limits) } }.get()
    }

    /// Reads and decodes the PNG file at `path`.
    ///
    /// Meant for the daemon's inbox: the file is opened without following a final symlink
    /// (`O_NOFOLLOW`) and without blocking (a FIFO cannot hang the caller), and must be a
    /// regular file (checked with `fstat` on the open descriptor, so it is the file that is
    /// read); these failures give `.unreadable` with the reason. A file over
    /// `limits.maxFileBytes` gives `.tooLarge` before anything is read.
    public static func read(contentsOfFile path: String, limits: ImageLimits = .default) throws(ImageError) -> DecodedImage {
        try decode(readFile(path, maxBytes: limits.maxFileBytes), limits: limits)
    }

    /// Reads a whole regular file with the checks described at `read(contentsOfFile:limits:)`.
    static func readFile(_ path: String, maxBytes: Int) throws(ImageError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link, which is not followed" : String(cString: strerror(errno))
            throw ImageError(code: .unreadable, message: "Cannot open '\(path)': \(reason).")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ImageError(code: .unreadable, message: "Cannot stat '\(path)': \(String(cString: strerror(errno))).")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw ImageError(code: .unreadable, message: "'\(path)' is not a regular file.")
        }
        let size = Int(status.st_size)
        guard size <= maxBytes else {
            throw ImageError(code: .tooLarge, message: "'\(path)' has \(size) bytes, over the limit of \(maxBytes). Raise ImageLimits.maxFileBytes if the image is genuine.")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let count = bytes.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress! + filled, size - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw ImageError(code: .unreadable, message: "Cannot read '\(path)': \(String(cString: strerror(errno))).")
            }
            if count == 0 { break }  // The file shrank while we read it; decode what is there.
            filled += count
        }
        bytes.removeLast(size - filled)
        return bytes
    }

    static func decode(bytes: UnsafeRawBufferPointer, limits: ImageLimits) throws(ImageError) -> DecodedImage {
        let structure = try PNGStructure(bytes: bytes)
        try limits.check(width: structure.width, height: structure.height)
        let source = SourceFormat(
            colorType: structure.colorType, bitDepth: structure.bitDepth,
            isInterlaced: structure.isInterlaced, hasAlpha: false)

        guard structure.bitDepth == 16 && structure.isInterlaced else {
            return try read(bytes, source: source, limits: limits, wide: false)
        }
        // libpng 1.6.39 as patched by Debian (and upstream up to at least 1.6.5x, libpng issue
        // #853) returns wrong pixels for Adam7 16-bit images read to 8 bits. Read those at 16
        // bits instead. Linear 16-bit output would apply the file's gamma, so the colour-space
        // chunks are dropped first: the samples then pass through unchanged, as sRGB values.
        let plain = structure.removingChunks(PNGStructure.colorSpaceChunks, from: bytes)
        return try plain.withUnsafeBytes { plain in
            Result { () throws(ImageError) in try read(plain, source: source, limits: limits, wide: true) }
        }.get()
    }

    /// Runs libpng on a stream whose structure was checked. `wide` reads 16-bit linear samples
    /// (premultiplied by alpha, as libpng gives them) and reduces them to 8 bits here.
    private static func read(_ bytes: UnsafeRawBufferPointer, source: SourceFormat, limits: ImageLimits, wide: Bool) throws(ImageError) -> DecodedImage {
        var image = LibPNG.makeImage()
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
            throw libpngFailure(image, stage: "header")
        }
        // libpng read the same header; check again in case it sees other dimensions.
        try limits.check(width: UInt64(image.width), height: UInt64(image.height))

        var source = source
        source.hasAlpha = image.format & LibPNG.formatAlpha != 0
        let width = Int(image.width), height = Int(image.height), pixelCount = width * height
        let channels = source.hasAlpha ? 4 : 3
        guard let rowStride = Int32(exactly: width * channels) else {
            throw ImageError(code: .tooLarge, message: "A row of \(width) pixels is too long for libpng's row stride.")
        }
        image.format = LibPNG.formatColor | (source.hasAlpha ? LibPNG.formatAlpha : 0)
        let samples: [UInt8]
        if wide {
            image.format |= LibPNG.formatLinear
            let linear: [UInt16] = try finishRead(&image, sampleCount: pixelCount * channels, rowStride: rowStride)
            samples = reduceTo8Bit(linear, channels: channels)
        } else {
            // A 16-bit file without gAMA or sRGB chunk holds sRGB values, like nearly every
            // 16-bit PNG in the wild; libpng would otherwise take it as linear light.
            image.flags |= LibPNG.imageFlag16BitSRGB
            samples = try finishRead(&image, sampleCount: pixelCount * channels, rowStride: rowStride)
        }

        let pixels: PixelBuffer
        if source.hasAlpha {
            let (rgb, alpha) = splitAlpha(samples, pixelCount: pixelCount)
            pixels = try PixelBuffer(width: width, height: height, rgb: rgb, alpha: alpha)
        } else {
            pixels = try PixelBuffer(width: width, height: height, rgb: samples)
        }
        return DecodedImage(pixels: pixels, source: source)
    }

    /// Decodes the pixels into a new array of `sampleCount` samples.
    private static func finishRead<Sample: FixedWidthInteger>(_ image: inout png_image, sampleCount: Int, rowStride: Int32) throws(ImageError) -> [Sample] {
        var samples = [Sample](repeating: 0, count: sampleCount)
        let finished = samples.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, nil, buffer.baseAddress, rowStride, nil)
        }
        guard finished != 0 else { throw libpngFailure(image, stage: "pixel data") }
        return samples
    }

    /// 16-bit linear samples (colour premultiplied by alpha when `channels` is 4) to 8-bit
    /// straight-alpha samples, each rounded to nearest. Colour under alpha 0 is lost (0).
    private static func reduceTo8Bit(_ wide: [UInt16], channels: Int) -> [UInt8] {
        func to8(_ value: UInt32) -> UInt8 { UInt8((value * 255 + 32767) / 65535) }
        var narrow = [UInt8](repeating: 0, count: wide.count)
        wide.withUnsafeBufferPointer { wide in
            narrow.withUnsafeMutableBufferPointer { narrow in
                var pixel = 0
                while pixel < wide.count {
                    let alpha = channels == 4 ? UInt32(wide[pixel + 3]) : 65535
                    for channel in 0..<3 {
                        let premultiplied = UInt32(wide[pixel + channel])
                        let straight = alpha == 0 ? 0 : min(65535, (premultiplied * 65535 + alpha / 2) / alpha)
                        narrow[pixel + channel] = to8(straight)
                    }
                    if channels == 4 { narrow[pixel + 3] = to8(alpha) }
                    pixel += channels
                }
            }
        }
        return narrow
    }

    /// Splits interleaved RGBA into RGB and an alpha plane.
    private static func splitAlpha(_ rgba: [UInt8], pixelCount: Int) -> ([UInt8], [UInt8]) {
        var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
        var alpha = [UInt8](repeating: 0, count: pixelCount)
        rgba.withUnsafeBufferPointer { source in
            rgb.withUnsafeMutableBufferPointer { rgb in
                alpha.withUnsafeMutableBufferPointer { alpha in
                    for pixel in 0..<pixelCount {
                        rgb[3 * pixel] = source[4 * pixel]
                        rgb[3 * pixel + 1] = source[4 * pixel + 1]
                        rgb[3 * pixel + 2] = source[4 * pixel + 2]
                        alpha[pixel] = source[4 * pixel + 3]
                    }
                }
            }
        }
        return (rgb, alpha)
    }

    /// A libpng failure after the chunk walk succeeded: the stream is complete, so the damage
    /// is inside it (CRC, zlib data, chunk contents).
    private static func libpngFailure(_ image: png_image, stage: String) -> ImageError {
        let detail = LibPNG.message(of: image)
        return ImageError(code: .corrupt, message: "libpng rejected the PNG's \(stage): \(detail.isEmpty ? "no reason given" : detail). The file is damaged.")
    }
}
