/// Answers `status` from the daemon's own state merged with the pipeline's fields, and passes
/// every other command to the pipeline.
public struct DaemonControlHandler: ControlHandler {
    public let state: DaemonState
    public let pipeline: any DaemonPipeline

    public init(state: DaemonState, pipeline: any DaemonPipeline) {
        self.state = state
        self.pipeline = pipeline
    }

    public func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        guard request.command == .status else {
            return try await pipeline.handle(request, peer: peer)
        }
        // The daemon's own fields win over a pipeline field of the same name.
        let fields = await pipeline.statusFields().merging(state.statusFields()) { _, own in own }
        return .object(fields)
    }
}
