/// How an image is split into independently coded tiles: a grid of `side × side` tiles (the last
/// row and column smaller), raster order; `side = 0` means one tile, the whole image.
///
/// Large images are tiled so the networks' memory stays bounded (a 1024² tile needs about 64 MB
/// per g_s activation); each tile is padded and coded on its own, so tile edges may show seams.
public struct TileLayout: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Tile side in pixels (a multiple of 64), or 0 for a single tile.
    public let side: Int

    /// The side the encoder uses for images above `tilingThreshold` pixels.
    public static let defaultSide = 1024
    /// Images with more pixels than this are tiled.
    public static let tilingThreshold = 2_000_000

    /// The layout the encoder picks for an image size.
    public init(encoderLayoutFor width: Int, height: Int) {
        self.width = width
        self.height = height
        side = width * height > Self.tilingThreshold ? Self.defaultSide : 0
    }

    /// A stored layout.
    ///
    /// - Throws: `.corruptBitstream` for a side that is not 0 or a multiple of 64 in 64…65536.
    public init(width: Int, height: Int, side: Int) throws {
        guard side == 0 || (side % 64 == 0 && (64...65_536).contains(side)) else {
            throw CodecError(code: .corruptBitstream, message: "tile side \(side) is not 0 or a multiple of 64 up to 65536; the record is corrupt")
        }
        self.width = width
        self.height = height
        self.side = side
    }

    /// The tiles' rectangles in raster order.
    public var tiles: [(x: Int, y: Int, width: Int, height: Int)] {
        guard side > 0 else { return [(0, 0, width, height)] }
        var result: [(x: Int, y: Int, width: Int, height: Int)] = []
        for y in stride(from: 0, to: height, by: side) {
            for x in stride(from: 0, to: width, by: side) {
                result.append((x, y, min(side, width - x), min(side, height - y)))
            }
        }
        return result
    }

    /// Number of tiles.
    public var tileCount: Int {
        side == 0 ? 1 : ((width + side - 1) / side) * ((height + side - 1) / side)
    }
}
