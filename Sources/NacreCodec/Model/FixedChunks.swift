import Foundation

/// Splits 0..<count into at most `maximum` contiguous chunks that depend only on `count`, not on
/// the machine, and runs them in parallel. A sum taken per chunk and then added in chunk order
/// is therefore the same on every machine and thread count.
enum FixedChunks {
    /// At most this many chunks by default.
    static let defaultMaximum = 4

    /// How many chunks `forEach` makes of `count` elements.
    static func count(for count: Int, minimumPerChunk: Int, maximum: Int = defaultMaximum) -> Int {
        max(1, min(maximum, count / max(1, minimumPerChunk)))
    }

    /// Runs `body(chunk, range)` for every chunk, in parallel when there is more than one.
    static func forEach(of count: Int, minimumPerChunk: Int, maximum: Int = defaultMaximum,
                        _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        let chunks = self.count(for: count, minimumPerChunk: minimumPerChunk, maximum: maximum)
        guard chunks > 1 else { body(0, 0..<count); return }
        withoutActuallyEscaping(body) { body in
            let shared = ChunkBody(run: body)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                shared.run(chunk, (chunk * count / chunks)..<((chunk + 1) * count / chunks))
            }
        }
    }

    /// Carries the body across threads; callers make the chunks write disjoint memory.
    private struct ChunkBody: @unchecked Sendable {
        let run: (Int, Range<Int>) -> Void
    }
}

/// Memory that the chunks of a `FixedChunks.forEach` share, each writing only its own elements.
struct ChunkSharedPointer<Pointee>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Pointee>
}
