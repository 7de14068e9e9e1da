#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The systemd notification protocol without libsystemd: datagrams such as `READY=1` sent to the
/// `AF_UNIX` socket named by `$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
///
/// When `$NOTIFY_SOCKET` is unset (not started by systemd, or `Type=` is not `notify`) every call
/// does nothing and returns `false`.
public struct SDNotify: Sendable {
    /// The socket address, `nil` when notifications are off.
    public let socketPath: String?
    /// Interval at which to send `WATCHDOG=1` (half of `$WATCHDOG_USEC`), `nil` when the watchdog
    /// is off or meant for another process (`$WATCHDOG_PID`).
    public let watchdogInterval: Duration?

    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` from `environment`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        if path != nil, let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0,
           environment["WATCHDOG_PID"].flatMap({ Int32($0) }).map({ $0 == getpid() }) ?? true {
            watchdogInterval = .microseconds(Int64(usec / 2))
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends one notification (fields joined by newlines). Returns whether it was delivered.
    ///
    /// Never blocks for long: a Unix datagram send waits while the receiver's queue is full
    /// (`net.unix.max_dgram_qlen`, 10 here), and these calls run on the cooperative thread pool,
    /// where a blocked send once stalled every control request and the reload handler until the
    /// receiver read again (session 8, `DaemonProcessTests`). A full queue is retried for up to
    /// `patience`, then the notification is dropped.
    @discardableResult
    public func send(_ fields: [String], patience: Duration = .milliseconds(500)) -> Bool {
        guard let socketPath, let (address, length) = try? SocketIO.address(socketPath),
              let fd = try? SocketIO.makeSocket(type: Int32(SOCK_DGRAM.rawValue)) else { return false }
        defer { close(fd) }
        var target = address
        let message = Array(fields.joined(separator: "\n").utf8)
        let deadline = ContinuousClock.now + patience
        while true {
            let sent = message.withUnsafeBytes { buffer in
                withUnsafePointer(to: &target) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), $0, length)
                    }
                }
            }
            if sent == message.count { return true }
            guard sent < 0, errno == EAGAIN || errno == EWOULDBLOCK, ContinuousClock.now < deadline else { return false }
            usleep(5_000)
        }
    }

    /// `READY=1` with a status line: start-up finished.
    @discardableResult public func ready(status: String) -> Bool { send(["READY=1", "STATUS=\(status)", "MAINPID=\(getpid())"]) }
    /// `STATUS=...`: a one-line state shown by `systemctl status`.
    @discardableResult public func status(_ text: String) -> Bool { send(["STATUS=\(text)"]) }
    /// `WATCHDOG=1`: still alive.
    /// Dropped at once when the receiver's queue is full: the next ping follows soon.
    @discardableResult public func watchdog() -> Bool { send(["WATCHDOG=1"], patience: .zero) }
    /// `STOPPING=1`: graceful shutdown has begun.
    @discardableResult public func stopping() -> Bool { send(["STOPPING=1", "STATUS=stopping"]) }
    /// `RELOADING=1` with the monotonic time systemd expects for `Type=notify-reload`; follow
    /// with ``ready(status:)`` when the reload is done.
    @discardableResult public func reloading() -> Bool {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        let usec = UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1000
        return send(["RELOADING=1", "MONOTONIC_USEC=\(usec)"])
    }
}
