import Dispatch
import Foundation

/// Turns one request line into one reply line by decoding it and calling the handler.
struct ControlDispatcher: Sendable {
    let handler: any ControlHandler

    func reply(to line: [UInt8], peer: PeerCredentials) async -> JSONValue {
        switch ControlRequest.decode(line) {
        case .failure(let rejection):
            return ControlReply.failure(id: rejection.id, error: rejection.error)
        case .success(let request):
            do {
                return ControlReply.success(id: request.id, result: try await handler.handle(request, peer: peer))
            } catch let error as ControlError {
                return ControlReply.failure(id: request.id, error: error)
            } catch {
                return ControlReply.failure(id: request.id, error: ControlError(.internal, "\(error)"))
            }
        }
    }

    /// ``reply(to:peer:)`` for a connection thread: runs the async handler as a task and blocks
    /// this (non-pool) thread until it answers.
    func blockingReply(to line: [UInt8], peer: PeerCredentials) -> JSONValue {
        let box = ReplyBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.set(await reply(to: line, peer: peer))
            done.signal()
        }
        done.wait()
        return box.get()
    }
}

/// Hands a reply from the handler task to the waiting connection thread.
private final class ReplyBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: JSONValue = .null

    func set(_ reply: JSONValue) { lock.withLock { value = reply } }
    func get() -> JSONValue { lock.withLock { value } }
}
