import CCrypto

/// SHA-256 (FIPS 180-4), for original-file checksums and model hashes, computed by OpenSSL's
/// libcrypto: its assembly uses the CPU's SHA instructions where there are some, which matters
/// because the daemon hashes every original several times (encode, verify, reservoir).
///
/// One shot: `SHA256.hash(bytes)`. Streaming: `var h = SHA256(); h.update(a); h.update(b); h.finalize()`.
/// A value type: a copy hashes on independently (the context is copied on write).
public struct SHA256: Sendable {
    private var context: DigestContext

    public init() { context = DigestContext() }

    /// The digest of `bytes` in one call.
    public static func hash<C: Collection>(_ bytes: C) -> SHA256Digest where C.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Feeds more bytes.
    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    /// Feeds more bytes from raw memory.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = context.copy() }
        context.update(buffer)
    }

    /// The digest of everything fed so far. The hasher itself is left unchanged.
    public func finalize() -> SHA256Digest {
        SHA256Digest(unchecked: context.copy().finish())
    }
}

/// An EVP_MD_CTX for SHA-256. libcrypto fails these calls only when it cannot allocate a few
/// hundred bytes, which leaves nothing sensible to do but stop.
private final class DigestContext: @unchecked Sendable {
    private let pointer: OpaquePointer

    init() {
        guard let pointer = EVP_MD_CTX_new(), EVP_DigestInit_ex(pointer, EVP_sha256(), nil) == 1 else {
            fatalError("libcrypto could not start a SHA-256 digest (out of memory?)")
        }
        self.pointer = pointer
    }

    private init(copying other: DigestContext) {
        guard let pointer = EVP_MD_CTX_new(), EVP_MD_CTX_copy_ex(pointer, other.pointer) == 1 else {
            fatalError("libcrypto could not copy a SHA-256 digest (out of memory?)")
        }
        self.pointer = pointer
    }

    deinit { EVP_MD_CTX_free(pointer) }

    func copy() -> DigestContext { DigestContext(copying: self) }

    func update(_ buffer: UnsafeRawBufferPointer) {
        guard EVP_DigestUpdate(pointer, buffer.baseAddress, buffer.count) == 1 else {
            fatalError("libcrypto failed to update a SHA-256 digest")
        }
    }

    /// The digest; the context is spent afterwards.
    func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard digest.withUnsafeMutableBufferPointer({ EVP_DigestFinal_ex(pointer, $0.baseAddress, &length) }) == 1, length == 32 else {
            fatalError("libcrypto failed to finish a SHA-256 digest")
        }
        return digest
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SHA256 {
    /// The digest of a file's contents, read in 1 MiB pieces (constant memory).
    public static func hash(fileAtPath path: String) throws(ArchiveError) -> SHA256Digest {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw ArchiveError(code: code == ENOENT ? .notFound : .ioFailure,
                               message: "Cannot open the file to checksum it: \(String(cString: strerror(code))). Check the path and its permissions.",
                               path: path, systemErrno: code)
        }
        defer { close(descriptor) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                throw POSIXFile.failure("read the file to checksum it", path: path)
            }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
        }
        return hasher.finalize()
    }
}
