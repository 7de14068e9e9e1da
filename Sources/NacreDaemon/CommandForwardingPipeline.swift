/// A pipeline without ingest that forwards every command to the collection commands, so that a
/// control server answers `list`, `info`, `restore`, ... over an existing catalog with the
/// daemon's real `DaemonControlHandler` (`nacre bench restore`'s in-process server, tests).
public struct CommandForwardingPipeline: DaemonPipeline {
    let commands: CollectionCommands
    /// What `status` reports as `pipeline`.
    let label: String

    public init(commands: CollectionCommands, label: String) {
        self.commands = commands
        self.label = label
    }

    public func run() async throws {}
    public func ingest(_ event: SpoolEvent) async {}
    public func apply(_ config: DaemonConfig) async { commands.apply(config) }
    public func statusFields() async -> [String: JSONValue] { ["pipeline": .string(label)] }
    public func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        try await commands.handle(request, peer: peer)
    }
}
