import Testing
@testable import NacreEngine

/// The tensor pool reuses buffers by size but keeps no more than its bound idle.
@Suite struct BufferPoolTests {
    @Test func aReturnedBufferIsReusedForTheSameSize() {
        let pool = BufferPool()
        let first = pool.take(bytes: 4096)
        pool.give(first, bytes: 4096)
        #expect(pool.idleBytes == 4096)
        let second = pool.take(bytes: 4096)
        #expect(second == first)
        #expect(pool.idleBytes == 0)
        pool.give(second, bytes: 4096)
        pool.trim()
        #expect(pool.idleBytes == 0)
    }

    @Test func idleBuffersStayWithinTheLimitAndTheOldestGoFirst() {
        let pool = BufferPool()
        pool.limitBytes = 10_000
        // Images of many sizes: each size's buffer comes back once and is never asked for again.
        let sizes = (1...20).map { 1_000 + 64 * $0 }
        for size in sizes { pool.give(pool.take(bytes: size), bytes: size) }
        #expect(pool.idleBytes <= 10_000)
        #expect(pool.idleBytes > 10_000 - sizes.last!, "evicts only as much as it must")
        // The most recent sizes are kept, the oldest were freed.
        let recent = pool.take(bytes: sizes.last!)
        #expect(pool.idleBytes <= 10_000 - sizes.last!)
        pool.give(recent, bytes: sizes.last!)
        let before = pool.idleBytes
        let fresh = pool.take(bytes: sizes.first!)  // freed long ago: a fresh allocation, the pool unchanged
        #expect(pool.idleBytes == before)
        fresh.deallocate()
    }

    @Test func aBufferOverTheLimitIsFreedAndLoweringTheLimitEvicts() {
        let pool = BufferPool()
        pool.limitBytes = 8_192
        pool.give(pool.take(bytes: 16_384), bytes: 16_384)
        #expect(pool.idleBytes == 0)
        for size in [2_048, 3_072, 4_096] { pool.give(pool.take(bytes: size), bytes: size) }
        #expect(pool.idleBytes == 7_168)  // 2,048 was evicted to keep 3,072 + 4,096 under 8,192
        pool.limitBytes = 4_096
        #expect(pool.idleBytes == 4_096)
        pool.limitBytes = 0
        #expect(pool.idleBytes == 0)
    }

    @Test func aTrainingLoopKeepsItsBuffersAndABoundedHistory() {
        let pool = BufferPool()
        let sizes = [4_096, 8_192, 65_536]
        var first: [UnsafeMutableRawPointer] = []
        for step in 0..<5_000 {
            let buffers = sizes.map { pool.take(bytes: $0) }
            if step == 0 { first = buffers }
            #expect(step == 0 || buffers == first, "the same buffers come back every step")
            for (buffer, size) in zip(buffers, sizes) { pool.give(buffer, bytes: size) }
        }
        #expect(pool.orderEntries <= 2 * sizes.count + 1_025)
        pool.trim()
        #expect(pool.idleBytes == 0)
    }
}
