import Foundation
import NacreCodec
import NacreEngine

/// Where a model's denoiser is found. A model file `NAME.nxcm` may have its denoiser block beside
/// it as `NAME.nxdn` (a re-trained champion's is kept that way); the built-in base model's is
/// `base.nxdn` in the resource folder (``BaseModel``). A block is used only with the decoder it
/// was trained for.
public enum ModelDenoiser {
    /// File extension of a denoiser block.
    public static let fileExtension = "nxdn"

    /// `NAME.nxdn` beside the model file `NAME.nxcm` (or `NAME` without an extension).
    public static func sidecarPath(forModelAt modelPath: String) -> String {
        (modelPath as NSString).deletingPathExtension + "." + fileExtension
    }

    /// The denoiser trained for `decoderIdentifier` and the file it came from: the block beside
    /// the model, else the built-in one; nil when neither was trained for this decoder. A block
    /// that is found but cannot be read throws (`CodecError` `corrupt_denoiser_block`), so a
    /// broken install is not silently packed without its denoiser.
    public static func locate(forModelAt modelPath: String, decoderIdentifier: UInt64,
                              engine: Engine) throws -> (path: String, denoiser: Denoiser)? {
        let sidecar = sidecarPath(forModelAt: modelPath)
        let builtIn = BaseModel.denoiserCandidatePaths().first { FileManager.default.isReadableFile(atPath: $0) }
        // The built-in model's sidecar is the built-in block itself: read it once.
        let candidates = [sidecar] + [builtIn].compactMap { $0 }.filter { $0 != sidecar }
        for path in candidates where FileManager.default.isReadableFile(atPath: path) {
            let denoiser = try Denoiser.load(contentsOfFile: path, engine: engine)
            if denoiser.decoderIdentifier == decoderIdentifier { return (path, denoiser) }
        }
        return nil
    }
}
