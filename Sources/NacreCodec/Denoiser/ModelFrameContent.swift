/// What an archive's model frame carries (its blob, docs/FORMAT.md §4): the decoder bytes
/// (`CodecModel.decoderBytes()`) and, optionally, a denoiser block (`Denoiser.serialized()`).
///
/// Without a denoiser the blob is the decoder bytes themselves, exactly as archives have always
/// stored them. With one, the blob is a small bundle (docs/MODEL.md, "Model frame bundle"):
/// `NXMF`, version, flags, then the two parts, each with a u32 length. The first four bytes tell
/// the two forms apart (`NXMF`, or else decoder bytes, which start with `NXCM`).
public struct ModelFrameContent: Sendable, Equatable {
    /// The decoder's bytes (an `NXCM` model without its encoder part).
    public var decoder: [UInt8]
    /// The denoiser block (`NXDN`), if the archive carries one.
    public var denoiser: [UInt8]?

    static let bundleMagic: [UInt8] = Array("NXMF".utf8)
    static let bundleVersion: UInt16 = 1

    public init(decoder: [UInt8], denoiser: [UInt8]? = nil) {
        self.decoder = decoder
        self.denoiser = denoiser
    }

    /// Splits a model-frame blob into its parts (the parts' own checks happen when they are loaded).
    /// A blob that does not start with `NXMF` is the decoder bytes alone.
    ///
    /// - Throws: `CodecError` `corruptBlock` for a bundle whose lengths do not tile the blob,
    ///   `unsupportedVersion` for a newer bundle.
    public init(blob: [UInt8]) throws(CodecError) {
        // Anything else is taken as decoder bytes, whose loader names what is wrong with them.
        guard blob.count >= 4, Array(blob[0..<4]) == Self.bundleMagic else {
            self.init(decoder: blob)
            return
        }
        var r = ByteReader(blob, what: "model frame", shortReadCode: .corruptStream)
        do {
            _ = try r.readBytes(4)
            let version = try r.read(UInt16.self), flags = try r.read(UInt16.self)
            guard version == Self.bundleVersion, flags == 0 else {
                throw CodecError(code: .unsupportedDenoiserVersion,
                    message: "the model frame bundle has version \(version), flags \(flags); this build reads version \(Self.bundleVersion) without flags. Update nacre")
            }
            let decoderLength = Int(try r.read(UInt32.self))
            guard decoderLength <= r.remaining else { throw r.truncated("decoder") }
            let decoder = try r.readBytes(decoderLength)
            let denoiserLength = Int(try r.read(UInt32.self))
            guard denoiserLength == r.remaining else {
                throw CodecError(code: .corruptDenoiserBlock, message: "the model frame's denoiser part claims \(denoiserLength) bytes but \(r.remaining) remain; the archive's model is damaged")
            }
            self.init(decoder: decoder, denoiser: try r.readBytes(denoiserLength))
        } catch let error as CodecError {
            throw error
        } catch {
            throw CodecError(code: .corruptDenoiserBlock, message: "the model frame bundle is truncated; the archive's model is damaged")
        }
    }

    /// The blob to store: the decoder bytes alone, or the bundle when a denoiser is present.
    public func encoded() -> [UInt8] {
        guard let denoiser else { return decoder }
        var w = ByteWriter()
        w.append(contentsOf: Self.bundleMagic)
        w.append(Self.bundleVersion)
        w.append(UInt16(0))
        w.append(UInt32(decoder.count))
        w.append(contentsOf: decoder)
        w.append(UInt32(denoiser.count))
        w.append(contentsOf: denoiser)
        return w.bytes
    }
}

private extension ByteReader {
    func truncated(_ part: String) -> CodecError {
        CodecError(code: .corruptDenoiserBlock, message: "the model frame's \(part) part runs past its end; the archive's model is damaged")
    }
}
