#if canImport(Glibc)
import Glibc
#endif

/// Blocking POSIX socket helpers for `AF_UNIX` stream sockets, with deadlines enforced by
/// `poll(2)` and an optional wake-up descriptor that interrupts any wait (used for shutdown).
enum SocketIO {
    /// What a wait for readability ended with.
    enum Wait { case ready, timedOut, woken }

    /// Seconds on the monotonic clock.
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// A `sockaddr_un` for `path`. A leading `@` names a Linux abstract socket (first byte NUL);
    /// the returned length then excludes any trailing NUL, as the kernel compares all bytes.
    static func address(_ path: String) throws(DaemonError) -> (sockaddr_un, socklen_t) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw DaemonError(code: .socketPath, message: "socket path '\(path)' is empty or longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
        }
        let base = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let length = base + bytes.count + (abstract ? 0 : 1)
        return (address, socklen_t(length))
    }

    /// A new close-on-exec `AF_UNIX` socket of the given type.
    static func makeSocket(type: Int32) throws(DaemonError) -> Int32 {
        let fd = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DaemonError.system("socket", "an AF_UNIX socket") }
        return fd
    }

    /// Connects a stream socket to `path`; the caller owns the returned descriptor.
    static func connect(path: String) throws(DaemonError) -> Int32 {
        let fd = try makeSocket(type: Int32(SOCK_STREAM.rawValue))
        var (address, length) = try address(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        guard result == 0 else {
            let error = DaemonError.system("connect", path, code: .connectFailed)
            close(fd)
            throw error
        }
        return fd
    }

    /// Waits until `fd` is readable, `deadline` passes (monotonic seconds; `nil` waits forever),
    /// or `wake` becomes readable.
    static func waitReadable(_ fd: Int32, deadline: Double?, wake: Int32? = nil) -> Wait {
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            if let wake { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
            var timeout: Int32 = -1
            if let deadline {
                let remaining = deadline - now()
                if remaining <= 0 { return .timedOut }
                timeout = Int32(min(remaining * 1000 + 1, Double(Int32.max)))
            }
            let result = poll(&fds, nfds_t(fds.count), timeout)
            if result < 0 {
                if errno == EINTR { continue }
                return .woken
            }
            if fds.count > 1, fds[1].revents != 0 { return .woken }
            if fds[0].revents != 0 { return .ready }
        }
    }

    /// Writes all of `bytes`, waiting at most until `deadline`. Never raises SIGPIPE.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: Double) throws(DaemonError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if sent >= 0 { offset += sent; continue }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                var fds = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let remaining = deadline - now()
                if remaining <= 0 || poll(&fds, 1, Int32(remaining * 1000 + 1)) == 0 {
                    throw DaemonError(code: .protocolViolation, message: "the peer did not read its reply in time")
                }
            case EPIPE, ECONNRESET:
                throw DaemonError.system("send", "a control connection", code: .peerClosed)
            default:
                throw DaemonError.system("send", "a control connection")
            }
        }
    }

    /// Sets `O_CLOEXEC` and `O_NONBLOCK` on both ends of a new pipe.
    static func makePipe() throws(DaemonError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw DaemonError.system("pipe", "a wake-up pipe") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return (fds[0], fds[1])
    }
}
