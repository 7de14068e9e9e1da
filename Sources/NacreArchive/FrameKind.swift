/// What a frame of the archive holds. The raw value is stored in index entries and, for zstd
/// frames, as the first byte of the decompressed content. Unknown values (from newer minor versions)
/// are kept and skipped.
public struct FrameKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The manifest (skippable frame).
    public static let manifest = FrameKind(rawValue: 1)
    /// The shared model: decoder, entropy tables, optional denoiser (zstd frame).
    public static let model = FrameKind(rawValue: 2)
    /// One image: record, latent bitstreams, optional alpha plane (zstd frame).
    public static let image = FrameKind(rawValue: 3)
    /// The index (skippable frame).
    public static let index = FrameKind(rawValue: 4)
    /// The trailer (skippable frame).
    public static let trailer = FrameKind(rawValue: 5)

    public var description: String {
        switch self {
        case .manifest: "manifest"
        case .model: "model"
        case .image: "image"
        case .index: "index"
        case .trailer: "trailer"
        default: "kind \(rawValue)"
        }
    }
}
