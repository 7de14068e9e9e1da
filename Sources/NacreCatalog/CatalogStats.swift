/// Totals over every indexed image.
public struct CatalogStats: Sendable, Hashable, Codable {
    /// Images and bytes of the images stored with one model.
    public struct ModelUsage: Sendable, Hashable, Codable {
        public var modelID: String
        public var archiveCount: Int
        public var imageCount: Int
        public var originalBytes: Int64
        public var latentBytes: Int64
    }

    public var imageCount: Int
    public var archiveCount: Int
    /// Sum of the original files' sizes ("bytes in").
    public var originalBytes: Int64
    /// Sum of the images' latent bitstreams.
    public var latentBytes: Int64
    /// Sum of the archive files' sizes, decoders and container included ("bytes out").
    public var archiveBytes: Int64
    /// Sum of width × height.
    public var pixelCount: Int64
    /// `originalBytes / latentBytes`; nil when there is nothing.
    public var latentRatio: Double?
    /// `originalBytes / archiveBytes`; nil when there is nothing.
    public var archiveRatio: Double?
    /// Latent bits per pixel over the whole collection: `8 × latentBytes / pixelCount`
    /// (pixel-weighted, so large images count more than in a per-image mean).
    public var bitsPerPixel: Double?
    /// Mean of the per-image PSNR at encode, in dB.
    public var meanPSNR: Double?
    /// Mean of the per-image MS-SSIM at encode.
    public var meanMSSSIM: Double?
    /// Per model, sorted by model id.
    public var perModel: [ModelUsage]
}
