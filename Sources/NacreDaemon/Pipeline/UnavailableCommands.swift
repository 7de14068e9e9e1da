/// A ``ControlHandler`` for the collection commands (`list`, `search`, `info`, `restore`,
/// `verify`, `stats`, `models`) in a build where they are not wired in: every command replies
/// `not_available`, nothing is faked.
public struct UnavailableCommands: ControlHandler {
    public init() {}

    public func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        throw ControlError.notAvailable(request.command.rawValue)
    }
}
