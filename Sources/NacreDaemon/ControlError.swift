/// An error reply on the control socket: a stable `code` (see docs/PROTOCOL.md) and a message.
public struct ControlError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stable error codes of the control protocol.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The wire form, e.g. `bad_request`.
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The line is not a JSON object with a string `command`.
        public static let badRequest = Code("bad_request")
        /// The request line exceeded the 64 KiB limit; the connection is closed after this reply.
        public static let requestTooLarge = Code("request_too_large")
        /// The command is not part of the protocol.
        public static let unknownCommand = Code("unknown_command")
        /// The command is part of the protocol but its backend is not wired into this build.
        public static let notAvailable = Code("not_available")
        /// An argument is missing or has a bad value.
        public static let invalidArgument = Code("invalid_argument")
        /// The named image, archive or model does not exist.
        public static let notFound = Code("not_found")
        /// The peer's uid/gid is not allowed, or the action is not allowed (e.g. restore outside roots).
        public static let permissionDenied = Code("permission_denied")
        /// Too many connections at once; retry later.
        public static let busy = Code("busy")
        /// No complete request arrived within the idle timeout; the connection is closed.
        public static let timeout = Code("timeout")
        /// The daemon is stopping.
        public static let shuttingDown = Code("shutting_down")
        /// The request was valid but handling it failed; the message says why.
        public static let `internal` = Code("internal")
        /// A name matches several images (in different archives); name the archive too.
        public static let ambiguous = Code("ambiguous")
        /// A restore destination is outside the configured restore roots (absolute elsewhere,
        /// `..`, or a symbolic link that leads out).
        public static let forbiddenPath = Code("forbidden_path")
        /// The restore destination exists and `overwrite` was not given.
        public static let exists = Code("exists")
        /// The archive (or the image's frame in it) is damaged or missing; the image cannot be read.
        public static let damaged = Code("damaged")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The reply for a command whose backend is not wired yet.
    public static func notAvailable(_ command: String) -> ControlError {
        ControlError(.notAvailable, "'\(command)' is not available: its backend is not wired into this daemon build")
    }
}
