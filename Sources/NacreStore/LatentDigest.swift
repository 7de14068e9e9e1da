import NacreArchive
import NacreCodec

/// A SHA-256 of an image's entropy-decoded latents (ẑ, ŷ and the scale indices, little-endian
/// `Int32`s and bytes, in that order).
///
/// Two decodes with equal digests fed the same integers to the decoder, so they restore the same
/// pixels with the same decoder. The daemon's verification uses it to check a sealed archive's
/// bitstreams against what was measured at encode without running the decoder network again.
public enum LatentDigest {
    public static func of(_ latents: DecodedLatents) -> SHA256Digest {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 * (latents.z.count + latents.y.count) + latents.scaleIndices.count + 16)
        for part in [latents.z, latents.y] {
            withUnsafeBytes(of: UInt64(part.count).littleEndian) { bytes.append(contentsOf: $0) }
            for value in part { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        }
        bytes.append(contentsOf: latents.scaleIndices)
        return SHA256.hash(bytes)
    }
}
