/// Totals of one archive for `nacre ls`, computed from the index alone.
///
/// Bits per pixel are reported two ways: over the latent bitstreams only (what the codec spends per
/// image) and over the whole file (which also pays the shared decoder, the records and the index
/// once). For a small archive the decoder can dominate the second number.
public struct ArchiveStatistics: Hashable, Sendable, Codable {
    /// Images listed.
    public var imageCount: Int
    /// Pixels over all images.
    public var pixelCount: UInt64
    /// Size of the archive file.
    public var fileBytes: UInt64
    /// Bytes of the model frame (the shared decoder, its tables and the denoiser), as stored.
    public var decoderBytes: UInt64
    /// Bytes of all latent bitstreams.
    public var latentBytes: UInt64
    /// latentBytes × 8 / pixelCount.
    public var latentBitsPerPixel: Double
    /// fileBytes × 8 / pixelCount: the decoder, records and index included.
    public var archiveBitsPerPixel: Double

    /// Totals of an opened archive.
    public init(reader: ArchiveReader) {
        imageCount = reader.images.count
        pixelCount = reader.images.reduce(0) { $0 + UInt64($1.width) * UInt64($1.height) }
        fileBytes = reader.fileSize
        decoderBytes = reader.frames.filter { $0.kind == .model }.reduce(0) { $0 + $1.length }
        latentBytes = reader.images.reduce(0) { $0 + $1.latentByteCount }
        let pixels = Double(max(pixelCount, 1))
        latentBitsPerPixel = pixelCount == 0 ? 0 : Double(latentBytes) * 8 / pixels
        archiveBitsPerPixel = pixelCount == 0 ? 0 : Double(fileBytes) * 8 / pixels
    }
}
