#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NacreTestSupport
import Testing
@testable import NacreDaemon

/// The collection commands behind the real socket: bad requests, many clients, a refused uid,
/// and `nacre ctl` (the built binary) rendering them.
@Suite("Collection socket")
struct CollectionSocketTests {
    /// Sends raw lines on one connection and reads replies until `replies` arrived or the server closed.
    private func exchange(_ path: String, _ lines: [[UInt8]], replies: Int) async throws -> [JSONValue] {
        try await offPool { () -> Result<[JSONValue], DaemonError> in
            do throws(DaemonError) {
                let client = try ControlClient(path: path, timeout: 30)
                var received: [JSONValue] = []
                for line in lines { try client.sendLine(line) }
                while received.count < replies, let reply = try client.receiveLine() { received.append(reply) }
                return .success(received)
            } catch {
                return .failure(error)
            }
        }.get()
    }

    @Test func malformedRequestsKeepTheConnectionAndOversizedOnesCloseIt() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }

        let lines: [[UInt8]] = [
            Array("{not json".utf8),
            Array(#"{"id": 1, "command": "info", "args": {"image": ["cat.png"]}}"#.utf8),
            Array(#"{"id": 2, "command": "restore", "args": {"image": "sub/gray.png", "to": "/etc/x.png"}}"#.utf8),
            Array(#"{"id": 3, "command": "list", "args": {"limit": 1}}"#.utf8),
        ]
        let replies = try await exchange(server.socketPath, lines, replies: 4)
        #expect(replies.count == 4, "the connection survived the bad lines")
        #expect(replies.map { $0["error"]?["code"] ?? .null } == ["bad_request", "invalid_argument", "forbidden_path", .null])
        #expect(replies.last?["result"]?["count"] == 1)

        // A line over 64 KiB: an error reply, then a clean end of stream.
        let huge = Array(#"{"command": "search", "args": {"name": ""#.utf8) + [UInt8](repeating: 0x61, count: 70_000) + Array(#""}}"#.utf8)
        let closing = try await exchange(server.socketPath, [huge, Array(#"{"command": "stats"}"#.utf8)], replies: 5)
        #expect(closing.count == 1)
        #expect(closing.first?["error"]?["code"] == "request_too_large")
        // The server still serves new connections.
        #expect(try await server.result(.stats)["images"] == .int(Int64(fixture.imageCount)))
    }

    @Test func fiftyConcurrentClients() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }
        let names = ["cat.png", "sub/gray.png", "alpha.png"]
        let path = server.socketPath
        let root = server.restoreRoot
        // Every client connects first, then all send at once: 50 connections served together.
        let start = DispatchSemaphore(value: 0)
        let results = await withTaskGroup(of: (Int, JSONValue?).self) { group in
            for client in 0..<50 {
                group.addTask {
                    await offPool {
                        guard let connection = try? ControlClient(path: path, timeout: 120) else { return (client, nil) }
                        start.wait()
                        let request: ControlRequest
                        switch client % 5 {
                        case 0: request = ControlRequest(command: .restore, args: ["image": "sub/gray.png", "to": .string("\(root)/c\(client).png")])
                        case 1: request = ControlRequest(command: .stats)
                        case 2: request = ControlRequest(command: .list, args: ["limit": 2])
                        default: request = ControlRequest(command: .info, args: ["image": .string(names[client % 3]),
                                                                               "archive": .string(names[client % 3] == "alpha.png" ? CollectionFixture.second : CollectionFixture.first)])
                        }
                        return (client, try? connection.send(request))
                    }
                }
            }
            // Wait until all 50 are connected (each holds a server thread), then release them.
            let allConnected = await eventually(timeout: 30) { server.server.activeConnections == 50 }
            #expect(allConnected, "50 connections were open at once")
            for _ in 0..<50 { start.signal() }
            var results: [Int: JSONValue?] = [:]
            for await (client, reply) in group { results[client] = reply }
            return results
        }
        #expect(results.count == 50)
        for (client, reply) in results.sorted(by: { $0.key < $1.key }) {
            let result = reply?["result"]
            #expect(reply?["ok"] == true, "client \(client): \(String(describing: reply))")
            switch client % 5 {
            case 0: #expect(result?["path"] == .string("\(root)/c\(client).png"))
            case 1: #expect(result?["images"] == .int(Int64(fixture.imageCount)))
            case 2: #expect(result?["count"] == 2)
            default: #expect(result?["name"] == .string(names[client % 3]))
            }
        }
        #expect(FileManager.default.fileExists(atPath: "\(root)/c45.png"))
    }

    @Test func ctlRendersTheCollectionCommands() async throws {
        let fixture = try await CollectionFixture.shared.value
        let server = try CollectionServer(fixture: fixture)
        defer { server.stop() }
        let socket = ["--socket", server.socketPath]
        // The client process talks to this process's server, whose handlers need the task pool:
        // wait for it on a thread of its own.
        func ctl(_ words: [String]) async throws -> NacreExecutable.Run {
            try await offPool { Result { try NacreExecutable.run(["ctl"] + socket + words) } }.get()
        }

        let list = try await ctl(["list"])
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ID") == true && lines.first?.contains("PSNR") == true, "\(list.stdout)")
        #expect(lines.count == fixture.imageCount + 2, "header, one row per image, footer: \(list.stdout)")
        #expect(lines.last == "\(fixture.imageCount) of \(fixture.imageCount) images")

        let info = try await ctl(["info", "sub/gray.png"])
        #expect(info.status == 0)
        #expect(info.stdout.contains("mode:") && info.stdout.contains("gray8"), "\(info.stdout)")
        #expect(info.stdout.split(separator: "\n").first?.hasPrefix("name:") == true)

        let restore = try await ctl(["restore", "sub/gray.png", "to", server.restoreRoot + "/ctl.png"])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.hasPrefix("restored sub/gray.png → \(server.restoreRoot)/ctl.png"), "\(restore.stdout)")

        let json = try await ctl(["--json", "stats"])
        let reply = try JSONValue.parse(Array(json.stdout.utf8.dropLast()))
        #expect(reply["result"]?["images"] == .int(Int64(fixture.imageCount)))

        let refused = try await ctl(["restore", "sub/gray.png", "to", server.outside + "/x.png"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("forbidden_path"), "\(refused.stderr)")
        let missing = try await ctl(["info", "missing.png"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("not_found"))
    }

    @Test func aRefusedUIDGetsPermissionDenied() async throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), NacreExecutable.path != nil else {
            // Switching to another uid needs root and util-linux's setpriv.
            print("skipped: needs root, /usr/bin/setpriv and the built nacre (uid \(getuid()))")
            return
        }
        let fixture = try await CollectionFixture.shared.value
        // Mode 0666 lets uid 65534 connect at all, so the refusal comes from SO_PEERCRED.
        let server = try CollectionServer(fixture: fixture, socketMode: "0666", allowedUIDs: [4242])
        defer { server.stop() }
        // The client must be able to traverse the build tree to run the binary.
        let run = try await offPool { () -> Result<(Int32, String), any Error> in
            Result {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
                process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", NacreExecutable.path!,
                                     "ctl", "--socket", server.socketPath, "restore", "sub/gray.png"]
                let err = Pipe()
                process.standardError = err
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                let stderr = err.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return (process.terminationStatus, String(decoding: stderr, as: UTF8.self))
            }
        }.get()
        #expect(run.0 == 1, "\(run.1)")
        #expect(run.1.contains("permission_denied"), "\(run.1)")
        #expect(run.1.contains("uid 65534"), "\(run.1)")
        #expect(!FileManager.default.fileExists(atPath: server.restoreRoot + "/sub/gray.png"), "nothing was restored")
    }
}
