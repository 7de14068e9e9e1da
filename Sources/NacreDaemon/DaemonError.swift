#if canImport(Glibc)
import Glibc
#endif

/// An error raised by the daemon's infrastructure (config, spool, socket, notify).
///
/// Follows the project's error style: a stable ``code`` from a fixed set, and a ``message`` that
/// says what went wrong and what to do about it. Config errors also carry the key path
/// (`spools[1].inbox`) they refer to.
public struct DaemonError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stable category of a ``DaemonError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The config file cannot be read.
        public static let configUnreadable = Code("configUnreadable")
        /// The config file is not valid YAML.
        public static let configSyntax = Code("configSyntax")
        /// The config names a key the daemon does not know.
        public static let configUnknownKey = Code("configUnknownKey")
        /// A required config key is absent.
        public static let configMissingKey = Code("configMissingKey")
        /// A config value has the wrong type or is out of range.
        public static let configInvalidValue = Code("configInvalidValue")
        /// Another daemon is already serving the control socket.
        public static let socketInUse = Code("socketInUse")
        /// The control socket path cannot be used (too long, not a socket, bad folder).
        public static let socketPath = Code("socketPath")
        /// Connecting to the control socket failed.
        public static let connectFailed = Code("connectFailed")
        /// The peer broke the protocol (closed early, sent an invalid reply).
        public static let protocolViolation = Code("protocolViolation")
        /// The peer closed its end while we were writing (`EPIPE`, `ECONNRESET`).
        public static let peerClosed = Code("peerClosed")
        /// A spool folder cannot be watched or read.
        public static let spoolUnavailable = Code("spoolUnavailable")
        /// A system call failed for a reason not covered above.
        public static let systemCall = Code("systemCall")
    }

    /// What kind of error this is.
    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String
    /// For config errors: the dotted key path, e.g. `socket.mode` or `spools[0].inbox`.
    public var keyPath: String?

    public init(code: Code, message: String, keyPath: String? = nil) {
        self.code = code
        self.message = message
        self.keyPath = keyPath
    }

    public var description: String {
        if let keyPath { return "\(code): \(keyPath): \(message)" }
        return "\(code): \(message)"
    }

    /// An error for a failed system call, with `errno` rendered as text.
    static func system(_ call: String, _ what: String, errno err: Int32 = errno, code: Code = .systemCall) -> DaemonError {
        DaemonError(code: code, message: "\(call) failed for \(what): \(String(cString: strerror(err))) (errno \(err))")
    }
}
