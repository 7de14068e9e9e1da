#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The archive's first frame: which model decodes it, with which codec settings, written when and by what.
public struct ArchiveManifest: Hashable, Sendable {
    /// Format major version the archive was written in (always `ArchiveFormat.majorVersion` when read back).
    public var majorVersion: UInt16
    /// Format minor version the archive was written in.
    public var minorVersion: UInt16
    /// Feature bits a reader must understand to read the archive; v1.0 and v1.1 define none.
    public var requiredFeatures: UInt32
    /// Creation time in microseconds since 1970-01-01T00:00:00Z.
    public var creationTime: Int64
    /// The program that wrote the archive, e.g. `"nacre 0.1.0"`.
    public var writerVersion: String
    /// The model's identifier (catalog key).
    public var modelID: String
    /// SHA-256 of the model frame's content (the model blob as passed to the writer).
    public var modelSHA256: SHA256Digest
    /// Codec settings as key/value text, opaque to the container; stored sorted by key.
    public var codecSettings: [String: String]

    /// A manifest for a new archive in the current format version.
    public init(creationTime: Int64 = ArchiveManifest.currentTime(), writerVersion: String, modelID: String,
                modelSHA256: SHA256Digest, codecSettings: [String: String] = [:]) {
        self.majorVersion = ArchiveFormat.majorVersion
        self.minorVersion = ArchiveFormat.minorVersion
        self.requiredFeatures = 0
        self.creationTime = creationTime
        self.writerVersion = writerVersion
        self.modelID = modelID
        self.modelSHA256 = modelSHA256
        self.codecSettings = codecSettings
    }

    /// The wall-clock time now, in microseconds since the Unix epoch.
    public static func currentTime() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }

    /// The skippable frame's payload: magic, versions, feature bits, body, CRC-32C.
    func encodedPayload() -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.raw(ArchiveFormat.manifestMagic)
        writer.u16(majorVersion)
        writer.u16(minorVersion)
        writer.u32(requiredFeatures)
        writer.i64(creationTime)
        writer.lengthPrefixed(Array(writerVersion.utf8))
        writer.lengthPrefixed(Array(modelID.utf8))
        writer.raw(modelSHA256.bytes)
        let settings = codecSettings.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        writer.varint(settings.count)
        for (key, value) in settings {
            writer.lengthPrefixed(Array(key.utf8))
            writer.lengthPrefixed(Array(value.utf8))
        }
        writer.u32(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    /// Parses a manifest payload; checks magic, CRC and version; ignores fields appended by newer minors.
    static func decode(payload: [UInt8]) throws(ArchiveError) -> ArchiveManifest {
        guard payload.count >= 20 else { throw .truncated("The manifest") }
        guard Array(payload[0..<8]) == ArchiveFormat.manifestMagic else {
            throw ArchiveError(code: .notAnArchive, message: "The manifest does not start with the Nacre magic \"NACREARC\"; this is not a Nacre archive or its first frame is damaged. Check the file; `nacre verify` tells which.")
        }
        let storedCRC = UInt32(payload[payload.count - 4]) | UInt32(payload[payload.count - 3]) << 8
            | UInt32(payload[payload.count - 2]) << 16 | UInt32(payload[payload.count - 1]) << 24
        guard CRC32C.checksum(payload[0..<(payload.count - 4)]) == storedCRC else { throw .checksum("The manifest") }
        var reader = ByteReader(payload, from: 8, to: payload.count - 4, context: "manifest")
        let major = try reader.u16()
        let minor = try reader.u16()
        let features = try reader.u32()
        try ArchiveManifest.checkVersion(major: major, requiredFeatures: features)
        let time = try reader.i64()
        let writerVersion = String(decoding: try reader.lengthPrefixed(), as: UTF8.self)
        let modelID = String(decoding: try reader.lengthPrefixed(), as: UTF8.self)
        let digest = SHA256Digest(unchecked: try reader.bytes(32))
        let settingCount = try reader.count(limit: reader.remaining / 2)
        var settings: [String: String] = [:]
        for _ in 0..<settingCount {
            let key = String(decoding: try reader.lengthPrefixed(), as: UTF8.self)
            settings[key] = String(decoding: try reader.lengthPrefixed(), as: UTF8.self)
        }
        var manifest = ArchiveManifest(creationTime: time, writerVersion: writerVersion, modelID: modelID,
                                       modelSHA256: digest, codecSettings: settings)
        manifest.majorVersion = major
        manifest.minorVersion = minor
        manifest.requiredFeatures = features
        return manifest
    }

    /// Refuses major versions other than ours and feature bits we do not know.
    static func checkVersion(major: UInt16, requiredFeatures: UInt32 = 0) throws(ArchiveError) {
        guard major == ArchiveFormat.majorVersion else {
            throw ArchiveError(code: .unsupportedVersion, message: "The archive is in format version \(major).x; this nacre reads only version \(ArchiveFormat.majorVersion).x. Use a nacre release that supports version \(major).")
        }
        guard requiredFeatures == 0 else {
            throw ArchiveError(code: .unsupportedVersion, message: "The archive needs format features 0x\(String(requiredFeatures, radix: 16)) this nacre does not know. Use a newer nacre release.")
        }
    }
}
