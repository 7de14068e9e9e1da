import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Recycles large, 64-byte aligned buffers by size, so a training loop that allocates the same
/// tensors every step does not page-fault fresh memory each time.
final class BufferPool: Sendable {
    static let shared = BufferPool()

    private struct State {
        var free: [Int: [UInt]] = [:]  // addresses, so the state stays Sendable
        var pooledBytes = 0
    }

    private let state = Mutex(State())

    func take(bytes: Int) -> UnsafeMutableRawPointer {
        let size = max(64, bytes)
        let recycled: UInt? = state.withLock { s in
            guard var list = s.free[size], let p = list.popLast() else { return nil }
            s.free[size] = list
            s.pooledBytes -= size
            return p
        }
        if let recycled, let p = UnsafeMutableRawPointer(bitPattern: recycled) { return p }
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
        let size = max(64, bytes)
        let address = UInt(bitPattern: p)
        state.withLock { s in
            s.free[size, default: []].append(address)
            s.pooledBytes += size
        }
    }

    /// Frees every idle buffer (memory held by live tensors is untouched).
    func trim() {
        let all = state.withLock { s -> [UInt] in
            let ps = s.free.values.flatMap { $0 }
            s.free = [:]
            s.pooledBytes = 0
            return ps
        }
        for a in all { UnsafeMutableRawPointer(bitPattern: a)?.deallocate() }
    }

    var idleBytes: Int { state.withLock { $0.pooledBytes } }
}
