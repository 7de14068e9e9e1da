import NacreEngine
import NacreImage

/// The ŷ of every tile of a tiled image, put back together as one latent map (tiles are coded
/// independently, but their latents sit on one grid: a tile at pixel (x, y) starts at latent
/// (x/16, y/16), and only the last row and column of tiles carry padding).
///
/// Both sides look `margin` latent pixels (64 image pixels) across each tile edge: the encoder
/// computes a tile's y from an image window that reaches into its neighbours (then keeps the
/// tile's own latents), and the decoder synthesizes a tile from a window of this map that reaches
/// into the neighbours' latents (then keeps the tile's own pixels). g_s then sees what it was
/// trained on — latents with their real context — instead of a zero-padded border, so tile edges
/// leave (almost) no seam, and memory stays bounded by the window. Context on one side only is
/// worse than none: border latents made for a zero-padded decoder do not fit real neighbours.
struct LatentGrid {
    let channels: Int
    let height: Int
    let width: Int
    /// Values in plain CHW order.
    let values: [Float]

    /// Latent pixels of context taken from each neighbour (64 image pixels; about the reach of
    /// g_s's four 5×5 stride-2 transposed convolutions).
    static let margin = 4

    /// - Parameter tileValues: the g_s input (before the decoder gains) of the tile at an index
    ///   of `layout.tiles` (`CodecModel.latentValues`), asked for once per tile.
    init(layout: TileLayout, channels: Int, tileValues: (Int) throws -> [Float]) rethrows {
        let rects = layout.tiles
        let tileHeight = { (rect: (x: Int, y: Int, width: Int, height: Int)) in ImagePadding.padded(rect.height) / 16 }
        let tileWidth = { (rect: (x: Int, y: Int, width: Int, height: Int)) in ImagePadding.padded(rect.width) / 16 }
        let height = rects.filter { $0.x == 0 }.reduce(0) { $0 + tileHeight($1) }
        let width = rects.filter { $0.y == 0 }.reduce(0) { $0 + tileWidth($1) }
        var values = [Float](repeating: 0, count: channels * height * width)
        for (index, rect) in rects.enumerated() {
            let latents = try tileValues(index)
            let (h, w, top, left) = (tileHeight(rect), tileWidth(rect), rect.y / 16, rect.x / 16)
            for c in 0..<channels {
                for row in 0..<h {
                    let source = (c * h + row) * w
                    let destination = (c * height + top + row) * width + left
                    for column in 0..<w { values[destination + column] = latents[source + column] }
                }
            }
        }
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }

    /// The window rows `rows` × columns `columns` as a 1×C×h×w tensor.
    func window(rows: Range<Int>, columns: Range<Int>) throws -> Tensor {
        try Self.crop(values, channels: channels, height: height, width: width, rows: rows, columns: columns)
    }

    /// Rows `rows` × columns `columns` of plain C×H×W `values`, as a 1×C×h×w tensor.
    static func crop(_ values: [Float], channels: Int, height: Int, width: Int,
                     rows: Range<Int>, columns: Range<Int>) throws -> Tensor {
        var out = [Float](); out.reserveCapacity(channels * rows.count * columns.count)
        for c in 0..<channels {
            for row in rows {
                let start = (c * height + row) * width
                out += values[(start + columns.lowerBound)..<(start + columns.upperBound)]
            }
        }
        return try Tensor(shape: TensorShape(n: 1, c: channels, h: rows.count, w: columns.count), values: out)
    }
}

extension CodecModel {
    /// y of one tile of a tiled image: g_a over the tile plus `LatentGrid.margin` · 16 pixels of
    /// its neighbours (edge-replicated past the image), cropped to the tile's own latents.
    func analyzeTile(_ rect: (x: Int, y: Int, width: Int, height: Int), of image: PixelBuffer) throws -> Tensor {
        let reach = LatentGrid.margin * 16
        let left = max(0, rect.x - reach), top = max(0, rect.y - reach)
        let right = min(image.width, rect.x + rect.width + reach), bottom = min(image.height, rect.y + rect.height + reach)
        let window = try image.window(x: left, y: top, width: right - left, height: bottom - top)
        let y = try network.analysis.forward(try ImagePadding.tensor(from: window), training: false)
        let rows = (rect.y - top) / 16..<((rect.y - top) / 16 + ImagePadding.padded(rect.height) / 16)
        let columns = (rect.x - left) / 16..<((rect.x - left) / 16 + ImagePadding.padded(rect.width) / 16)
        return try LatentGrid.crop(y.values(), channels: y.shape.c, height: y.shape.h, width: y.shape.w,
                                   rows: rows, columns: columns)
    }

    /// The pixels of one tile, synthesized from its latents plus `LatentGrid.margin` latent
    /// pixels of its neighbours, cropped back to the tile.
    func synthesizeTile(_ rect: (x: Int, y: Int, width: Int, height: Int), from grid: LatentGrid,
                        decoderGains: [Float], margin: Int = LatentGrid.margin) throws -> PixelBuffer {
        let top = rect.y / 16, left = rect.x / 16
        let bottom = top + ImagePadding.padded(rect.height) / 16, right = left + ImagePadding.padded(rect.width) / 16
        let rows = max(0, top - margin)..<min(grid.height, bottom + margin)
        let columns = max(0, left - margin)..<min(grid.width, right + margin)
        let latent = try network.engine.multiplyChannels(try grid.window(rows: rows, columns: columns), gains: decoderGains)
        let xHat = try synthesize(latent)
        let window = try ImagePadding.pixels(from: xHat, width: columns.count * 16, height: rows.count * 16)
        return try window.window(x: (left - columns.lowerBound) * 16, y: (top - rows.lowerBound) * 16,
                                 width: rect.width, height: rect.height)
    }
}
