#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Synchronization
@testable import NacreDaemon

/// A fresh folder under /tmp (short, so socket paths stay under 108 bytes), removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() {
        var template = Array("/tmp/nacre-test-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(result != nil, "mkdtemp failed: \(errno)")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func sub(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func makeFolder(_ name: String) -> String {
        try! FileManager.default.createDirectory(atPath: sub(name), withIntermediateDirectories: true)
        return sub(name)
    }

    /// Writes a file in one go (open, write, close → IN_CLOSE_WRITE).
    func write(_ name: String, _ text: String = "data") {
        precondition(FileManager.default.createFile(atPath: sub(name), contents: Data(text.utf8)))
    }
}

/// A minimal valid config in `folder`, with overrides spliced in as YAML text.
func testConfigYAML(socketMode: String = "0660", idleTimeout: Double = 30, maxClients: Int = 64,
                    extraSpools: String = "", extraTop: String = "") -> String {
    """
    spools:
      - name: main
        inbox: inbox
    \(extraSpools)
    archive_dir: archives
    state_dir: state
    quarantine_dir: quarantine
    restore_roots: [restore]
    socket:
      path: s.sock
      mode: "\(socketMode)"
      idle_timeout_seconds: \(idleTimeout)
      max_clients: \(maxClients)
    watch:
      stability_seconds: 0.3
      rescan_interval_seconds: 0.2
    \(extraTop)
    """
}

func testConfig(in folder: TemporaryFolder, yaml: String = testConfigYAML()) throws -> DaemonConfig {
    try DaemonConfig.parse(yaml: yaml, configPath: folder.sub("nacre.yaml"))
}

let testLogger: Logger = {
    var logger = Logger(label: "nacre.test")
    logger.logLevel = .critical
    return logger
}()

/// Runs blocking work on its own thread, so tests never block Swift's cooperative pool (which
/// the server's async handlers need).
func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: work()) }
        thread.start()
    }
}

/// Waits until `condition` holds, polling; returns whether it did within `timeout` seconds.
func eventually(timeout: Double = 5, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = SocketIO.now() + timeout
    while SocketIO.now() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Collects what a `SpoolWatcher` reports.
final class EventCollector: Sendable {
    private let box = Box()

    init(_ watcher: SpoolWatcher) {
        let box = self.box
        Task {
            for await event in watcher.events { box.append(event) }
        }
    }

    var events: [SpoolEvent] { box.all }

    func names(ready: Bool) -> [String] {
        events.compactMap {
            switch $0 {
            case .ready(let file): return ready ? file.name : nil
            case .rejected(let file, _): return ready ? nil : file.name
            }
        }
    }

    func rejection(for name: String) -> SpoolRejection.Code? {
        for case .rejected(let file, let reason) in events where file.name == name { return reason.code }
        return nil
    }

    final class Box: Sendable {
        private let list = Mutex<[SpoolEvent]>([])
        func append(_ event: SpoolEvent) { list.withLock { $0.append(event) } }
        var all: [SpoolEvent] { list.withLock { $0 } }
    }
}

/// A bound datagram socket standing in for systemd's notification socket.
final class NotifyReceiver: @unchecked Sendable {
    let fd: Int32
    /// The address to put in `$NOTIFY_SOCKET` (`@name` for abstract sockets).
    let address: String

    init(address: String) throws {
        self.address = address
        fd = try SocketIO.makeSocket(type: Int32(SOCK_DGRAM.rawValue))
        var (socketAddress, length) = try SocketIO.address(address)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw DaemonError.system("bind", address) }
    }

    deinit { close(fd) }

    /// The next datagram as text, or `nil` after `timeout` seconds.
    func receive(timeout: Double) -> String? {
        guard SocketIO.waitReadable(fd, deadline: SocketIO.now() + timeout) == .ready else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count >= 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    /// Datagrams until one contains `field` (or the timeout passes); returns all received.
    func receive(until field: String, timeout: Double) -> [String] {
        var received: [String] = []
        let deadline = SocketIO.now() + timeout
        while let message = receive(timeout: max(0, deadline - SocketIO.now())) {
            received.append(message)
            if message.split(separator: "\n").contains(Substring(field)) { break }
        }
        return received
    }
}
