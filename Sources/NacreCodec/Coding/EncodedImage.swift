/// One coded image: which model decodes it, at what quality, its size, its tiling and one latent
/// record per tile. Byte layout (docs/MODEL.md § Encoded image): magic `NXIM`, version u8, model
/// identifier u64, quality code u16, width, height and tile side as varints, then each tile's
/// `LatentBitstream` record prefixed by its varint length, in raster order, to the end.
/// Version 2 (written for tiled images) means the tiles were analysed with context across their
/// edges and are synthesized the same way (`LatentGrid`); version 1 tiles are synthesized alone.
public struct EncodedImage: Sendable, Equatable {
    /// `CodecModel.identifier` of the model that wrote it.
    public var modelIdentifier: UInt64
    /// round(quality × 100), 100…10000 (see `QualityPosition`).
    public var qualityCode: UInt16
    public var width: Int
    public var height: Int
    /// Tile side (0: one tile).
    public var tileSide: Int
    /// The coded latents z and y of each tile, raster order.
    public var tiles: [LatentBitstream]
    /// Whether tiles are synthesized with their neighbours' latents as context (record version
    /// 2); false for version-1 records, whose tiles were coded and are decoded alone.
    public var tileContext: Bool

    static let magic: [UInt8] = Array("NXIM".utf8)
    /// Record versions: 1 (independent tiles), 2 (tiles with context; only written when tiled).
    static let supportedVersions: ClosedRange<UInt8> = 1...2

    public init(modelIdentifier: UInt64, qualityCode: UInt16, width: Int, height: Int, tileSide: Int = 0,
                tiles: [LatentBitstream], tileContext: Bool = true) {
        self.modelIdentifier = modelIdentifier
        self.qualityCode = qualityCode
        self.width = width
        self.height = height
        self.tileSide = tileSide
        self.tiles = tiles
        self.tileContext = tileContext || tileSide == 0  // one tile: nothing to look across
    }

    /// The record version written: 2 only when tiles with context make a difference, so untiled
    /// records stay byte-identical to version 1.
    var formatVersion: UInt8 { tileSide > 0 && tileContext ? 2 : 1 }

    /// The quality it was coded at, 1…100.
    public var quality: Double { Double(qualityCode) / 100 }

    /// The bytes of all z streams and of all y streams.
    public var streamByteCounts: (z: Int, y: Int) {
        (tiles.reduce(0) { $0 + $1.zStream.count }, tiles.reduce(0) { $0 + $1.yStream.count })
    }

    /// The whole record's size in bytes (what rates are computed from).
    public var byteCount: Int { serialized().count }

    /// Bits per pixel of the whole record.
    public var bitsPerPixel: Double { Double(byteCount * 8) / Double(width * height) }

    public func serialized() -> [UInt8] {
        var w = ByteWriter()
        w.append(contentsOf: Self.magic)
        w.append(formatVersion)
        w.append(modelIdentifier)
        w.append(qualityCode)
        w.appendVarint(UInt64(width))
        w.appendVarint(UInt64(height))
        w.appendVarint(UInt64(tileSide))
        for tile in tiles {
            let bytes = tile.serialized()
            w.appendVarint(UInt64(bytes.count))
            w.append(contentsOf: bytes)
        }
        return w.bytes
    }

    /// Parses a record. Sizes are checked against the codec's limits; whether the latents fit
    /// the tiles is checked by the decoder.
    ///
    /// - Throws: `CodecError.corruptBitstream` or a latent record's `EntropyCodingError`.
    public init(serialized bytes: [UInt8]) throws {
        var r = ByteReader(bytes, what: "encoded image", shortReadCode: .truncatedStream)
        guard try r.readBytes(4) == Self.magic else {
            throw CodecError(code: .corruptBitstream, message: "the encoded image does not start with \"NXIM\"; it is not a Nacre image record")
        }
        let version = try r.read(UInt8.self)
        guard Self.supportedVersions.contains(version) else {
            throw CodecError(code: .corruptBitstream, message: "encoded image version \(version) is not supported (this Nacre reads 1…2); upgrade Nacre")
        }
        modelIdentifier = try r.read(UInt64.self)
        qualityCode = try r.read(UInt16.self)
        let w = try r.readVarint(maxBytes: 4), h = try r.readVarint(maxBytes: 4), side = try r.readVarint(maxBytes: 4)
        guard w >= 1, h >= 1, w <= 1 << 20, h <= 1 << 20, w * h <= UInt64(CodecModel.maximumPixels),
              (100...10_000).contains(qualityCode) else {
            throw CodecError(code: .corruptBitstream, message: "encoded image claims \(w)×\(h) at quality code \(qualityCode); the record is corrupt")
        }
        width = Int(w)
        height = Int(h)
        let layout = try TileLayout(width: width, height: height, side: Int(side))
        tileSide = layout.side
        tileContext = version >= 2 || layout.side == 0
        var tiles: [LatentBitstream] = []
        for _ in 0..<layout.tileCount {
            let length = try r.readVarint(maxBytes: 5)
            guard length <= UInt64(r.remaining) else {
                throw EntropyCodingError(.truncatedStream, "a tile claims \(length) bytes but \(r.remaining) remain")
            }
            tiles.append(try LatentBitstream(serialized: try r.readBytes(Int(length))))
        }
        guard r.isAtEnd else {
            throw CodecError(code: .corruptBitstream, message: "\(r.remaining) bytes after the last tile; the record is corrupt")
        }
        self.tiles = tiles
    }
}
