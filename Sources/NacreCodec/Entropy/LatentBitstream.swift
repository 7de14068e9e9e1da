/// The coded latents of one image (or one tile): z's and y's shapes and their two rANS streams.
/// Byte layout: `docs/BITSTREAM.md` § Latent record.
///
/// z is decoded first (factorized tables), the integer hyper-synthesis turns it into y's scale
/// indices, then y is decoded (Gaussian tables).
public struct LatentBitstream: Sendable, Equatable {
    /// A latent tensor's shape, channel-major.
    public struct Shape: Sendable, Equatable {
        public var channels: Int
        public var height: Int
        public var width: Int
        public init(channels: Int, height: Int, width: Int) {
            self.channels = channels
            self.height = height
            self.width = width
        }
        /// channels × height × width.
        public var elementCount: Int { channels * height * width }
    }

    public static let formatVersion: UInt8 = 1
    /// Largest dimension accepted when reading (bounds memory for a corrupt header).
    public static let maximumDimension = 1 << 16
    /// Largest element count accepted when reading, per tensor.
    public static let maximumElements = 1 << 28

    public var zShape: Shape
    public var yShape: Shape
    /// `LatentCoder.encodeFactorized` output for z.
    public var zStream: [UInt8]
    /// `LatentCoder.encodeGaussian` output for y.
    public var yStream: [UInt8]

    public init(zShape: Shape, yShape: Shape, zStream: [UInt8], yStream: [UInt8]) {
        self.zShape = zShape
        self.yShape = yShape
        self.zStream = zStream
        self.yStream = yStream
    }

    /// The record's bytes: version, six varint dimensions, then each stream prefixed by its varint length.
    public func serialized() -> [UInt8] {
        var w = ByteWriter()
        w.append(Self.formatVersion)
        for shape in [zShape, yShape] {
            w.appendVarint(UInt64(shape.channels))
            w.appendVarint(UInt64(shape.height))
            w.appendVarint(UInt64(shape.width))
        }
        w.appendVarint(UInt64(zStream.count))
        w.append(contentsOf: zStream)
        w.appendVarint(UInt64(yStream.count))
        w.append(contentsOf: yStream)
        return w.bytes
    }

    /// Parses a record, checking the version, dimension limits and that it ends exactly.
    ///
    /// - Throws: `.truncatedStream` if it ends early, `.corruptStream` for anything else malformed.
    public init(serialized bytes: [UInt8]) throws {
        var r = ByteReader(bytes, what: "latent record", shortReadCode: .truncatedStream)
        let version = try r.read(UInt8.self)
        guard version == Self.formatVersion else {
            throw EntropyCodingError(.corruptStream, "latent record version \(version) is not supported (expected \(Self.formatVersion))")
        }
        var shapes: [Shape] = []
        for _ in 0..<2 {
            var dims: [Int] = []
            for _ in 0..<3 {
                let d = try r.readVarint(maxBytes: 3)
                guard d <= UInt64(Self.maximumDimension) else {
                    throw EntropyCodingError(.corruptStream, "latent dimension \(d) exceeds \(Self.maximumDimension); the record is corrupt")
                }
                dims.append(Int(d))
            }
            let shape = Shape(channels: dims[0], height: dims[1], width: dims[2])
            guard dims[0] <= 4096, shape.elementCount <= Self.maximumElements else {
                throw EntropyCodingError(.corruptStream, "latent shape \(dims) is too large; the record is corrupt")
            }
            shapes.append(shape)
        }
        let zLength = try r.readVarint(maxBytes: 5)
        guard zLength <= UInt64(r.remaining) else {
            throw EntropyCodingError(.truncatedStream, "the z stream claims \(zLength) bytes but \(r.remaining) remain")
        }
        let z = try r.readBytes(Int(zLength))
        let yLength = try r.readVarint(maxBytes: 5)
        guard yLength == UInt64(r.remaining) else {
            throw EntropyCodingError(yLength > UInt64(r.remaining) ? .truncatedStream : .corruptStream,
                "the y stream claims \(yLength) bytes but \(r.remaining) remain")
        }
        let y = try r.readBytes(Int(yLength))
        self.init(zShape: shapes[0], yShape: shapes[1], zStream: z, yStream: y)
    }
}
