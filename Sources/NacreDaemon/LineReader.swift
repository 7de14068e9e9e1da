#if canImport(Glibc)
import Glibc
#endif

/// Reads newline-delimited lines from a socket with a size limit and a deadline per line.
///
/// The deadline covers the whole line, so a client trickling one byte at a time still times out.
struct LineReader {
    enum Outcome: Equatable {
        case line([UInt8])
        /// The line grew past the limit without a newline.
        case tooLarge
        /// The peer closed the connection (any unterminated bytes are dropped).
        case endOfStream
        case timedOut
        /// The wake descriptor fired (shutdown).
        case woken
        case failed(Int32)
    }

    let fd: Int32
    let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var scanned = 0

    init(fd: Int32, maxLineBytes: Int) {
        self.fd = fd
        self.maxLineBytes = maxLineBytes
    }

    mutating func next(deadline: Double, wake: Int32?) -> Outcome {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                scanned = 0
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return line.count > maxLineBytes ? .tooLarge : .line(line)
            }
            scanned = buffer.count
            if buffer.count > maxLineBytes { return .tooLarge }
            switch SocketIO.waitReadable(fd, deadline: deadline, wake: wake) {
            case .timedOut: return .timedOut
            case .woken: return .woken
            case .ready: break
            }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count == 0 { return .endOfStream }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                return .failed(errno)
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}
