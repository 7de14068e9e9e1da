/// Answers control commands. The server decodes and validates each request line, calls
/// ``handle(_:peer:)``, and turns the returned value or thrown error into the reply line.
///
/// Throw a ``ControlError`` to choose the error code; any other error becomes `internal`.
public protocol ControlHandler: Sendable {
    func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue
}
