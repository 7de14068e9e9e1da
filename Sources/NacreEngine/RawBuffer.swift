/// An owned, pooled, aligned byte buffer.
final class RawBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = BufferPool.shared.take(bytes: byteCount)
    }

    deinit { BufferPool.shared.give(pointer, bytes: byteCount) }

    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        pointer.bindMemory(to: Float.self, capacity: count)
    }
}
