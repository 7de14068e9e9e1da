import CZstd

/// Compresses byte strings into single standard zstd frames with the content size and zstd's
/// XXH64 content checksum in every frame. Single-threaded, so output is deterministic for a given
/// libzstd version and level.
final class ZstdCompressor {
    private let context: OpaquePointer

    init() throws(ArchiveError) {
        guard let context = ZSTD_createCCtx() else {
            throw ArchiveError(code: .ioFailure, message: "libzstd could not allocate a compression context (out of memory). Free memory and retry.")
        }
        self.context = context
    }

    deinit { ZSTD_freeCCtx(context) }

    /// One zstd frame holding `content`.
    func frame(_ content: [UInt8], level: Int32) throws(ArchiveError) -> [UInt8] {
        try check(ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1))
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(content.count))
        let written = output.withUnsafeMutableBytes { out in
            content.withUnsafeBytes { input in
                ZSTD_compress2(context, out.baseAddress, out.count, input.baseAddress, input.count)
            }
        }
        try check(written)
        output.removeSubrange(written...)
        return output
    }

    private func check(_ result: Int) throws(ArchiveError) {
        if ZSTD_isError(result) != 0 {
            throw ArchiveError(code: .ioFailure, message: "libzstd failed to compress: \(String(cString: ZSTD_getErrorName(result))). Report this as a bug.")
        }
    }
}
