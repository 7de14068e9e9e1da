import NacreEngine
import NacreImage
import Testing
@testable import NacreCodec

/// Tiled decoding from the reassembled latent grid.
struct LatentGridTests {
    /// With no margin, a window is exactly the tile's own latents, so the pixels must equal a
    /// decode of the tile alone: this pins the grid's assembly and the crop.
    @Test func aWindowWithoutMarginDecodesExactlyLikeTheTileAlone() throws {
        let model = try CodecFixtures.tinyModel()
        let photo = try CodecFixtures.photo(0)
        let image = try photo.window(x: 0, y: 0, width: 120, height: 100)
        let encoded = try model.encode(image, quality: 50, tileSide: 64)
        let layout = try TileLayout(width: encoded.width, height: encoded.height, side: encoded.tileSide)
        #expect(layout.tileCount == 4)
        let latents = try model.decodeLatents(encoded)
        let position = try QualityPosition(code: encoded.qualityCode, levelCount: model.configuration.levelCount)
        let gains = model.gains(at: position).decoder
        // Per-tile latents, split back from the concatenation.
        var offset = 0
        var tiles: [DecodedLatents] = []
        for record in encoded.tiles {
            let count = record.yShape.elementCount
            tiles.append(DecodedLatents(z: [], y: Array(latents.y[offset..<(offset + count)]), scaleIndices: []))
            offset += count
        }
        let grid = LatentGrid(layout: layout, channels: model.configuration.latentChannels) { tiles[$0].y.map(Float.init) }
        #expect(grid.height == 8 && grid.width == 8)
        for (rect, (tile, record)) in zip(layout.tiles, zip(tiles, encoded.tiles)) {
            let shape = record.yShape
            let alone = try model.network.synthesis.forward(
                try model.network.engine.multiplyChannels(
                    try Tensor(shape: TensorShape(n: 1, c: shape.channels, h: shape.height, w: shape.width), values: tile.y.map(Float.init)),
                    gains: gains), training: false)
            let expected = try ImagePadding.pixels(from: alone, width: rect.width, height: rect.height)
            let windowed = try model.synthesizeTile(rect, from: grid, decoderGains: gains, margin: 0)
            #expect(windowed.rgb == expected.rgb, "tile at \(rect.x),\(rect.y)")
        }
    }

    /// Tiled records say how their tiles are synthesized: version 2 with context (what the encoder
    /// writes), version 1 alone (records written before); untiled records stay version 1.
    @Test func recordVersionsSayHowTilesAreSynthesized() throws {
        let model = try CodecFixtures.tinyModel()
        let image = try CodecFixtures.photo(0).window(x: 0, y: 0, width: 120, height: 100)
        let tiled = try model.encode(image, quality: 50, tileSide: 64)
        #expect(tiled.serialized()[4] == 2 && tiled.tileContext)
        #expect(try model.encode(image, quality: 50).serialized()[4] == 1)

        var alone = tiled
        alone.tileContext = false
        let bytes = alone.serialized()
        #expect(bytes[4] == 1)
        let parsed = try EncodedImage(serialized: bytes)
        #expect(!parsed.tileContext && parsed == alone)
        // Version 1: each tile is synthesized from its own latents only, so the decodes differ
        // but both are whole images.
        let withContext = try model.decode(tiled), withoutContext = try model.decode(parsed)
        #expect(withContext.width == 120 && withoutContext.width == 120)
        #expect(withContext.rgb != withoutContext.rgb)
    }
}
