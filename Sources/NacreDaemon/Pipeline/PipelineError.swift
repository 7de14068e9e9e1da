#if canImport(Glibc)
import Glibc
#endif

/// A failure of the ingest pipeline: a stable ``code`` and a message that says what went wrong
/// and what to do about it.
///
/// ``Code-swift.struct/badInput`` failures end in quarantine (with ``reason`` as the `.reason`
/// file's code); every other code is an infrastructure failure, after which the pipeline rolls
/// its state back to what the catalog says and retries.
public struct PipelineError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stable category of a ``PipelineError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The file is not an archivable PNG; ``PipelineError/reason`` says why.
        public static let badInput = Code("badInput")
        /// The encode model cannot be found, read or used.
        public static let model = Code("model")
        /// Moving a file into or out of the processing folder failed.
        public static let fileSystem = Code("fileSystem")
        /// Writing or sealing the archive failed.
        public static let archive = Code("archive")
        /// A sealed archive did not verify: an image is missing, unreadable or decodes to a
        /// different PSNR than was recorded at encode.
        public static let verification = Code("verification")
        /// A graceful stop interrupted the work; it is redone at the next start.
        public static let stopped = Code("stopped")
    }

    public var code: Code
    /// For ``Code-swift.struct/badInput``: the quarantine reason code (`not_png`, `truncated`,
    /// `too_large`, ...); empty otherwise.
    public var reason: String
    public var message: String

    public init(_ code: Code, reason: String = "", _ message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    public var description: String {
        reason.isEmpty ? "\(code): \(message)" : "\(code) (\(reason)): \(message)"
    }

    /// Bad input to quarantine with `reason`.
    static func badInput(_ reason: String, _ message: String) -> PipelineError {
        PipelineError(.badInput, reason: reason, message)
    }

    /// A failed system call on a file, with `errno` as text.
    static func system(_ call: String, _ what: String, errno err: Int32 = errno) -> PipelineError {
        PipelineError(.fileSystem, "\(call) failed for \(what): \(String(cString: strerror(err))) (errno \(err))")
    }
}
