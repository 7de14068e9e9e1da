#if canImport(Glibc)
import Glibc
#endif

/// A blocking client for the control socket, used by `nacre ctl` and the tests.
public final class ControlClient {
    private let fd: Int32
    private let timeout: Double
    private var reader: LineReader
    private var nextID: Int64 = 1

    /// Connects to the socket at `path`; `timeout` bounds each reply wait.
    public init(path: String, timeout: Double = 60) throws(DaemonError) {
        self.fd = try SocketIO.connect(path: path)
        self.timeout = timeout
        // Replies can be larger than requests (lists); 64 MiB bounds a broken peer.
        self.reader = LineReader(fd: fd, maxLineBytes: 64 << 20)
    }

    deinit { close(fd) }

    /// Sends a request (with a fresh numeric id when it has none) and returns the reply object.
    public func send(_ request: ControlRequest) throws(DaemonError) -> JSONValue {
        var request = request
        if request.id == .null {
            request.id = .int(nextID)
            nextID += 1
        }
        try sendLine(request.encodedLine())
        guard let reply = try receiveLine() else {
            throw DaemonError(code: .protocolViolation, message: "the daemon closed the connection without replying")
        }
        return reply
    }

    /// Sends raw bytes followed by a newline. A peer that already closed is not an error here:
    /// the daemon may reply and close before reading an oversized line to its end.
    public func sendLine(_ bytes: [UInt8]) throws(DaemonError) {
        do {
            try SocketIO.writeAll(fd, bytes + [10], deadline: SocketIO.now() + timeout)
        } catch where error.code == .peerClosed {
            return  // the reply (or end of stream) is read next
        }
    }

    /// Reads one reply line and parses it; `nil` at end of stream.
    public func receiveLine() throws(DaemonError) -> JSONValue? {
        switch reader.next(deadline: SocketIO.now() + timeout, wake: nil) {
        case .line(let line):
            guard let value = try? JSONValue.parse(line) else {
                throw DaemonError(code: .protocolViolation, message: "the daemon sent a line that is not JSON")
            }
            return value
        case .endOfStream:
            return nil
        case .failed(let err):
            if err == ECONNRESET { return nil }
            throw DaemonError.system("recv", "the control socket", errno: err, code: .protocolViolation)
        case .timedOut, .woken:
            throw DaemonError(code: .protocolViolation, message: "no reply from the daemon within \(timeout) s")
        case .tooLarge:
            throw DaemonError(code: .protocolViolation, message: "the daemon's reply exceeds 64 MiB")
        }
    }
}
