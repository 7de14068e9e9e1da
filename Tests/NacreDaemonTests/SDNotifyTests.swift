#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import NacreDaemon

@Suite("SDNotify")
struct SDNotifyTests {
    @Test func readyReachesAPathSocket() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let receiver = try NotifyReceiver(address: folder.sub("notify"))
        let notify = SDNotify(environment: ["NOTIFY_SOCKET": receiver.address])
        #expect(notify.ready(status: "watching 1 inbox"))
        let message = try #require(receiver.receive(timeout: 2))
        let fields = message.split(separator: "\n").map(String.init)
        #expect(fields.contains("READY=1"))
        #expect(fields.contains("STATUS=watching 1 inbox"))
        #expect(fields.contains("MAINPID=\(getpid())"))
    }

    @Test func everyMessageKind() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let receiver = try NotifyReceiver(address: folder.sub("notify"))
        let notify = SDNotify(environment: ["NOTIFY_SOCKET": receiver.address])
        #expect(notify.watchdog())
        #expect(receiver.receive(timeout: 2) == "WATCHDOG=1")
        #expect(notify.status("busy"))
        #expect(receiver.receive(timeout: 2) == "STATUS=busy")
        #expect(notify.stopping())
        #expect(receiver.receive(timeout: 2)?.hasPrefix("STOPPING=1") == true)
        #expect(notify.reloading())
        let reloading = try #require(receiver.receive(timeout: 2))
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="))
    }

    /// A receiver that does not read: notifications are dropped after a bounded wait instead of
    /// blocking the caller (the daemon sends them from the cooperative thread pool).
    @Test func aFullReceiverQueueNeverBlocksTheSender() throws {
        let folder = TemporaryFolder()
        defer { folder.remove() }
        let receiver = try NotifyReceiver(address: folder.sub("notify"))
        let notify = SDNotify(environment: ["NOTIFY_SOCKET": receiver.address])
        let clock = ContinuousClock()
        var delivered = 0
        let pings = clock.measure {
            for _ in 0..<200 where notify.watchdog() { delivered += 1 }
        }
        #expect(delivered < 200, "the queue never filled, so this test shows nothing")
        #expect(pings < .seconds(1), "200 pings into a full queue took \(pings)")
        let ready = clock.measure { #expect(!notify.ready(status: "x")) }
        #expect(ready >= .milliseconds(400) && ready < .seconds(2), "a state change waits about 0.5 s, then is dropped: \(ready)")
        #expect(receiver.receive(timeout: 1) == "WATCHDOG=1", "what was queued is still delivered")
        #expect(notify.status("after a read"), "one read frees a slot")
    }

    @Test func abstractSocket() throws {
        let name = "@nacre-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try NotifyReceiver(address: name)
        let notify = SDNotify(environment: ["NOTIFY_SOCKET": name])
        #expect(notify.ready(status: "ok"))
        #expect(receiver.receive(timeout: 2)?.contains("READY=1") == true)
    }

    @Test func offWithoutNotifySocket() {
        let notify = SDNotify(environment: [:])
        #expect(notify.socketPath == nil)
        #expect(!notify.ready(status: "x"))
        #expect(notify.watchdogInterval == nil)
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsec() {
        let env = ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "20000000"]
        #expect(SDNotify(environment: env).watchdogInterval == .seconds(10))
        var forOther = env
        forOther["WATCHDOG_PID"] = String(getpid() + 1)
        #expect(SDNotify(environment: forOther).watchdogInterval == nil)
        var forUs = env
        forUs["WATCHDOG_PID"] = String(getpid())
        #expect(SDNotify(environment: forUs).watchdogInterval == .seconds(10))
        #expect(SDNotify(environment: ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "junk"]).watchdogInterval == nil)
    }
}
