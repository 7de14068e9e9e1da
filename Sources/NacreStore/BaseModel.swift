import Foundation
import NacreCodec
import NacreEngine

/// The shipped base model: the full coded model (encoder and decoder) that `nacre pack` and the
/// daemon use when no model is configured. It is a package resource
/// (`Sources/NacreStore/Resources/base.nxcm`, recipe in `models/base-v2/README.md`), found at
/// run time beside the executable, so it works with zero setup. Its denoiser (`base.nxdn`, a
/// restore-time post-filter trained for its decoder, docs/MODEL.md §9) ships beside it and is
/// stored in new archives by default.
public enum BaseModel {
    /// File name of the model inside the resource folder.
    public static let fileName = "base.nxcm"
    /// SwiftPM's resource folder for this target, copied beside the built executable.
    public static let resourceFolder = "Nacre_NacreStore.resources"
    /// Environment variable that names a model file to use instead (tests, packagers).
    public static let environmentVariable = "NACRE_BASE_MODEL"
    /// File name of the base model's denoiser block inside the resource folder.
    public static let denoiserFileName = "base.nxdn"
    /// Environment variable that names a denoiser block to use instead.
    public static let denoiserEnvironmentVariable = "NACRE_BASE_DENOISER"

    /// Where the base model is looked for, in order: `$NACRE_BASE_MODEL`; the resource folder
    /// beside the running executable (a build tree); `../share/nacre/base.nxcm` relative to the
    /// executable's folder (`make install`).
    public static func candidatePaths(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        candidatePaths(of: fileName, override: environment[environmentVariable])
    }

    /// Where the base model's denoiser is looked for: as for the model, with
    /// `$NACRE_BASE_DENOISER` and `base.nxdn`.
    public static func denoiserCandidatePaths(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        candidatePaths(of: denoiserFileName, override: environment[denoiserEnvironmentVariable])
    }

    private static func candidatePaths(of name: String, override: String?) -> [String] {
        var paths: [String] = []
        if let override, !override.isEmpty { paths.append(override) }
        let folder = (executablePath() as NSString).deletingLastPathComponent
        paths.append(((folder as NSString).appendingPathComponent(resourceFolder) as NSString).appendingPathComponent(name))
        paths.append((((folder as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("share/nacre") as NSString).appendingPathComponent(name))
        return paths
    }

    /// The first candidate that exists.
    public static func locate() throws(StoreError) -> String {
        let candidates = candidatePaths()
        guard let found = candidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }) else {
            throw StoreError(code: .unusableModel,
                             message: "the built-in base model is missing (looked in \(candidates.joined(separator: ", "))). "
                                 + "Reinstall nacre (`make install` copies it), set \(environmentVariable), or pass a model explicitly.")
        }
        return found
    }

    /// Loads the base model.
    public static func load(engine: Engine) throws -> CodecModel {
        try CodecModel.load(contentsOfFile: try locate(), engine: engine)
    }

    /// The resolved path of the running executable (`/proc/self/exe`), falling back to argv[0].
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
