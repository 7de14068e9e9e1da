import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Recycles large, 64-byte aligned buffers by size, so a training loop that allocates the same
/// tensors every step does not page-fault fresh memory each time.
///
/// Idle buffers are bounded by ``limitBytes``: past it the least recently returned ones are
/// freed. Without a bound, a process that codes images of many sizes (the daemon) keeps every
/// size's tensors forever: 200 photos of assorted sizes left 13 GB resident.
final class BufferPool: Sendable {
    static let shared = BufferPool()

    /// Default bound on idle bytes: a training step's working set at the default crop and batch
    /// stays pooled, and one image's inference tensors do.
    static let defaultLimitBytes = 2 << 30

    private struct Idle {
        var address: UInt  // an address, so the state stays Sendable
        var stamp: UInt64
    }

    private struct State {
        /// Idle buffers per size, oldest first (`take` pops the newest).
        var free: [Int: [Idle]] = [:]
        /// (size, stamp) of every buffer given back, oldest first from `head`; entries whose
        /// buffer was taken again are skipped when reached.
        var order: [(size: Int, stamp: UInt64)] = []
        var head = 0
        var pooledBytes = 0
        var limitBytes = BufferPool.defaultLimitBytes
        var clock: UInt64 = 0

        var idleCount = 0

        mutating func add(_ address: UInt, size: Int) {
            clock += 1
            free[size, default: []].append(Idle(address: address, stamp: clock))
            order.append((size, clock))
            pooledBytes += size
            idleCount += 1
            if order.count - head > 2 * idleCount + 1024 {
                // Mostly entries of buffers taken again (a training loop): rebuilt from what is idle.
                order = free.flatMap { size, list in list.map { (size: size, stamp: $0.stamp) } }.sorted { $0.stamp < $1.stamp }
                head = 0
            }
        }

        /// Removes least recently given buffers until at most `limit` bytes are idle.
        mutating func evict(downTo limit: Int) -> [UInt] {
            var evicted: [UInt] = []
            while pooledBytes > limit, head < order.count {
                let (size, stamp) = order[head]
                head += 1
                guard var list = free[size], let oldest = list.first, oldest.stamp == stamp else { continue }
                list.removeFirst()
                free[size] = list.isEmpty ? nil : list
                pooledBytes -= size
                idleCount -= 1
                evicted.append(oldest.address)
            }
            if head > 1024 && head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
            return evicted
        }
    }

    private let state = Mutex(State())

    func take(bytes: Int) -> UnsafeMutableRawPointer {
        let size = max(64, bytes)
        let recycled: UInt? = state.withLock { s in
            guard var list = s.free[size], let idle = list.popLast() else { return nil }
            s.free[size] = list.isEmpty ? nil : list
            s.pooledBytes -= size
            s.idleCount -= 1
            return idle.address
        }
        if let recycled, let p = UnsafeMutableRawPointer(bitPattern: recycled) { return p }
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
        let size = max(64, bytes)
        let evicted = state.withLock { s -> [UInt] in
            guard size <= s.limitBytes else { return [UInt(bitPattern: p)] }
            s.add(UInt(bitPattern: p), size: size)
            return s.evict(downTo: s.limitBytes)
        }
        for a in evicted { UnsafeMutableRawPointer(bitPattern: a)?.deallocate() }
    }

    /// The bound on idle bytes; lowering it frees buffers at once.
    var limitBytes: Int {
        get { state.withLock { $0.limitBytes } }
        set {
            let evicted = state.withLock { s -> [UInt] in
                s.limitBytes = max(0, newValue)
                return s.evict(downTo: s.limitBytes)
            }
            for a in evicted { UnsafeMutableRawPointer(bitPattern: a)?.deallocate() }
        }
    }

    /// Frees every idle buffer (memory held by live tensors is untouched).
    func trim() {
        let all = state.withLock { s in s.evict(downTo: 0) }
        for a in all { UnsafeMutableRawPointer(bitPattern: a)?.deallocate() }
    }

    var idleBytes: Int { state.withLock { $0.pooledBytes } }

    /// Entries of the eviction order still kept (bounded by about twice the idle buffers).
    var orderEntries: Int { state.withLock { $0.order.count - $0.head } }
}
