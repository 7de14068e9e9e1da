/// A failure of the model lifecycle (reservoir, re-training, gate, promotion): a stable ``code``
/// and a message that says what went wrong and what to do about it. Such failures end a run as
/// `failed` in the catalog; they never reach ingest or restores.
public struct LifecycleError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stable category of a ``LifecycleError``.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A child process (`nacre train`, `export-model`, `gate`) could not start or failed.
        public static let childProcess = Code("childProcess")
        /// The reservoir has too few crops to train on or to judge with.
        public static let notEnoughData = Code("notEnoughData")
        /// The gate's output could not be read.
        public static let gate = Code("gate")
        /// A file of the run could not be written or moved.
        public static let fileSystem = Code("fileSystem")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
