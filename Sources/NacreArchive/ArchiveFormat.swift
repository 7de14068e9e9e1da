/// Constants of the `.nacre` format, version 1 (specified in docs/FORMAT.md).
public enum ArchiveFormat {
    /// The major version this library writes and reads. A reader refuses any other major version.
    public static let majorVersion: UInt16 = 1
    /// The minor version this library writes. Readers accept any minor of their major version:
    /// minor versions only append fields and add frame kinds, which older readers skip.
    public static let minorVersion: UInt16 = 1

    /// zstd skippable-frame magic of the manifest (first frame of every archive).
    static let manifestFrameMagic: UInt32 = 0x184D_2A5A
    /// zstd skippable-frame magic of the index.
    static let indexFrameMagic: UInt32 = 0x184D_2A5B
    /// zstd skippable-frame magic of the trailer (last frame of a sealed archive).
    static let trailerFrameMagic: UInt32 = 0x184D_2A5C
    /// Magic of a standard zstd frame (RFC 8878).
    static let zstdFrameMagic: UInt32 = 0xFD2F_B528

    /// First 8 bytes of the manifest payload.
    static let manifestMagic: [UInt8] = Array("NACREARC".utf8)
    /// First 8 bytes of the trailer payload.
    static let trailerMagic: [UInt8] = Array("NACRETRL".utf8)

    /// Size of the trailer's skippable frame: 8-byte frame header + 40-byte payload.
    static let trailerFrameSize = 48
    static let trailerPayloadSize: UInt32 = 40

    /// True for any of the 16 zstd skippable-frame magics 0x184D2A50...0x184D2A5F.
    static func isSkippableMagic(_ magic: UInt32) -> Bool { magic & 0xFFFF_FFF0 == 0x184D_2A50 }

    /// A zstd skippable frame: magic, 32-bit payload size, payload.
    static func skippableFrame(magic: UInt32, payload: [UInt8]) throws(ArchiveError) -> [UInt8] {
        guard let size = UInt32(exactly: payload.count) else {
            throw ArchiveError(code: .invalidArgument, message: "A manifest or index of \(payload.count) bytes exceeds the 4 GiB a skippable frame holds. Split the images over several archives or shorten the codec settings.")
        }
        var writer = ByteWriter(capacity: payload.count + 8)
        writer.u32(magic)
        writer.u32(size)
        writer.raw(payload)
        return writer.bytes
    }
}

import CZstd

extension ArchiveFormat {
    /// Version of the libzstd in use, e.g. "1.5.4". Frame bytes are reproducible only with the same
    /// libzstd version and levels (the format does not depend on it: any zstd decodes any zstd frame).
    public static var zstdVersion: String { String(cString: ZSTD_versionString()) }
}
