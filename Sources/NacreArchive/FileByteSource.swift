#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// An archive file read with `pread`, so concurrent reads need no shared file position.
final class FileByteSource: ByteSource {
    let path: String
    let size: UInt64
    private let descriptor: Int32
    private let counters = Mutex(ReadStatistics())

    init(path: String) throws(ArchiveError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw ArchiveError(code: code == ENOENT ? .notFound : .ioFailure,
                               message: "Cannot open the archive for reading: \(String(cString: strerror(code))). Check the path and its permissions.",
                               path: path, systemErrno: code)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            close(descriptor)
            throw ArchiveError(code: .ioFailure, message: "Cannot read the archive's size: \(String(cString: strerror(code))).", path: path, systemErrno: code)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw ArchiveError(code: .notAnArchive, message: "The path is not a regular file. Pass the path of a .nacre file.", path: path)
        }
        self.path = path
        self.descriptor = descriptor
        self.size = UInt64(info.st_size)
    }

    deinit { close(descriptor) }

    var statistics: ReadStatistics { counters.withLock { $0 } }

    func read(at offset: UInt64, count: Int) throws(ArchiveError) -> [UInt8] {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
            throw ArchiveError.truncated("The archive").at(offset: offset).at(path: path)
        }
        counters.withLock { $0.reads += 1; $0.bytes += UInt64(count) }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            while done < count {
                let got = pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if got > 0 { done += got; continue }
                if got < 0 && errno == EINTR { continue }
                failure = got < 0 ? errno : 0
                break
            }
        }
        guard done == count else {
            if failure != 0 {
                throw ArchiveError(code: .ioFailure, message: "Reading the archive failed: \(String(cString: strerror(failure))). Check the disk; copy the archive to healthy storage and run `nacre verify`.", path: path, offset: offset, systemErrno: failure)
            }
            throw ArchiveError.truncated("The archive (it shrank while open)").at(offset: offset).at(path: path)
        }
        return buffer
    }
}
