/// The sample layout of a PNG to write: which channels, and 8 or 16 bits per sample.
///
/// Writing always uses non-palette, non-interlaced PNGs (libpng's simplified writer does not
/// write either).
public struct PNGLayout: Sendable, Hashable {
    /// The channels stored in the file.
    public enum Channels: Sendable, Hashable, CaseIterable {
        case gray, grayAlpha, rgb, rgba

        /// True for the layouts with an alpha channel.
        public var hasAlpha: Bool { self == .grayAlpha || self == .rgba }
        /// True for RGB and RGBA.
        public var hasColor: Bool { self == .rgb || self == .rgba }
        /// Samples per pixel.
        public var count: Int {
            switch self {
            case .gray: 1
            case .grayAlpha: 2
            case .rgb: 3
            case .rgba: 4
            }
        }
    }

    /// The channels stored in the file.
    public var channels: Channels
    /// True to write 16 bits per sample (each 8-bit value v stored as v·257), false for 8.
    public var is16Bit: Bool

    public init(channels: Channels, is16Bit: Bool = false) {
        self.channels = channels
        self.is16Bit = is16Bit
    }

    /// The layout that writes a restore "in the source's mode":
    /// - gray (any depth) → gray, or gray+alpha when the source had a tRNS colour;
    /// - gray+alpha → gray+alpha; RGB → RGB, or RGBA when it had a tRNS colour; RGBA → RGBA;
    /// - palette (any depth) → RGB, or RGBA when the palette had tRNS entries. Writing a palette
    ///   back would need a quantizer, and a decoded restore rarely keeps ≤ 256 exact colours;
    /// - 16-bit sources → 16-bit files, all others (1, 2, 4, 8 bits) → 8-bit files.
    ///
    /// Precision: pixels live at 8 bits, so a 16-bit source comes back with 8-bit precision
    /// (v·257), and 1/2/4-bit gray comes back as the same levels in an 8-bit file.
    public init(restoring source: SourceFormat) {
        let channels: Channels
        switch source.colorType {
        case .gray: channels = source.hasAlpha ? .grayAlpha : .gray
        case .grayAlpha: channels = .grayAlpha
        case .rgb, .palette: channels = source.hasAlpha ? .rgba : .rgb
        case .rgba: channels = .rgba
        }
        self.init(channels: channels, is16Bit: source.bitDepth == 16)
    }
}
