import Synchronization

/// Raised once a graceful stop is requested; read from any thread, including the codec
/// worker's queue, so long jobs (loading the model, verifying a large batch) can stop early.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .relaxed) }

    var isRaised: Bool { raised.load(ordering: .relaxed) }
}
