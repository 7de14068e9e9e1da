import Foundation
import NacreCodec
import NacreEngine

/// The shipped base model: the full coded model (encoder and decoder) that `nacre pack` and the
/// daemon use when no model is configured. It is a package resource
/// (`Sources/NacreStore/Resources/base.nxcm`, recipe in `models/base-v1/README.md`), found at
/// run time beside the executable, so it works with zero setup.
public enum BaseModel {
    /// File name of the model inside the resource folder.
    public static let fileName = "base.nxcm"
    /// SwiftPM's resource folder for this target, copied beside the built executable.
    public static let resourceFolder = "Nacre_NacreStore.resources"
    /// Environment variable that names a model file to use instead (tests, packagers).
    public static let environmentVariable = "NACRE_BASE_MODEL"

    /// Where the base model is looked for, in order: `$NACRE_BASE_MODEL`; the resource folder
    /// beside the running executable (a build tree); `../share/nacre/base.nxcm` relative to the
    /// executable's folder (`make install`).
    public static func candidatePaths(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var paths: [String] = []
        if let override = environment[environmentVariable], !override.isEmpty { paths.append(override) }
        let folder = (executablePath() as NSString).deletingLastPathComponent
        paths.append(((folder as NSString).appendingPathComponent(resourceFolder) as NSString).appendingPathComponent(fileName))
        paths.append((((folder as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("share/nacre") as NSString).appendingPathComponent(fileName))
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
