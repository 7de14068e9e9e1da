import Foundation
import Testing
@testable import NacreDaemon

@Suite("DaemonConfig")
struct DaemonConfigTests {
    private func parse(_ yaml: String) throws(DaemonError) -> DaemonConfig {
        try DaemonConfig.parse(yaml: yaml, configPath: "/srv/nacre/etc/nacre.yaml")
    }

    private func expectError(_ yaml: String, code: DaemonError.Code, keyPath: String?,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let config = try parse(yaml)
            Issue.record("expected \(code) at \(keyPath ?? "-"), parsed \(config)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.keyPath == keyPath, "\(error)", sourceLocation: sourceLocation)
        }
    }

    private let minimal = """
        spools:
          - name: main
            inbox: ../inbox
        archive_dir: /data/archives
        state_dir: state
        quarantine_dir: q
        socket:
          path: /run/nacre/nacre.sock
        """

    @Test func defaultsAndRelativePaths() throws {
        let config = try parse(minimal)
        #expect(config.spools == [.init(name: "main", inbox: "/srv/nacre/inbox")])
        #expect(config.archiveDir == "/data/archives")
        #expect(config.stateDir == "/srv/nacre/etc/state")
        #expect(config.catalogPath == "/srv/nacre/etc/state/catalog.sqlite")
        #expect(config.quarantineDir == "/srv/nacre/etc/q")
        #expect(config.originals == .delete)
        #expect(config.socket.mode == 0o660)
        #expect(config.socket.idleTimeoutSeconds == 30)
        #expect(config.socket.maxClients == 64)
        #expect(config.encode == .quality(75))
        #expect(config.retrain.schedule == .off)
        #expect(config.configPath == "/srv/nacre/etc/nacre.yaml")
    }

    @Test func shippedDefaultConfigLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Config/nacre.yaml").path
        let config = try DaemonConfig.load(path: path)
        #expect(config.spools.count == 1)
        #expect(config.spools[0].inbox.hasSuffix("/var/inbox"))
        #expect(config.restoreRoots.count == 1)
        #expect(config.batching.maxRawBytes == 2 << 30)
        #expect(config.retrain.schedule == .daily(hour: 3, minute: 30))
        #expect(config.retrain.budgetSeconds == 3600)
    }

    @Test func shippedSystemConfigLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/nacre.yaml").path
        let config = try DaemonConfig.load(path: path)
        #expect(config.socket.path == "/run/nacre/nacre.sock")
        #expect(config.spools[0].inbox == "/var/spool/nacre/inbox")
        #expect(config.restoreRoots == ["/srv/nacre/restore"])
    }

    @Test func everyKeyParses() throws {
        let config = try parse("""
            spools:
              - {name: cams, inbox: /in/cams, target_psnr_db: 40}
              - {name: scans, inbox: /in/scans, quality: 90}
            archive_dir: /a
            catalog: /c/catalog.db
            state_dir: /s
            quarantine_dir: /q
            originals: {policy: move, done_dir: /done}
            socket:
              path: /run/n.sock
              mode: "0600"
              allowed_uids: [1000, root]
              allowed_gids: [0]
              idle_timeout_seconds: 2.5
              max_clients: 8
            restore_roots: [/r1, /r2]
            batch: {max_images: 10, max_raw_bytes: 512 MiB, max_age_seconds: 30}
            encode: {target_psnr_db: 36.5, threads: 2}
            verify: {tolerance_db: 0.05}
            watch: {stability_seconds: 1, rescan_interval_seconds: 10}
            retrain: {schedule: every 12h, budget_minutes: 30, reservoir_crops: 100}
            log_level: debug
            """)
        #expect(config.spools[0].encode == .targetPSNR(40))
        #expect(config.spools[1].encode == .quality(90))
        #expect(config.encodeTarget(for: config.spools[1]) == .quality(90))
        #expect(config.encode == .targetPSNR(36.5))
        #expect(config.threads == 2)
        #expect(config.catalogPath == "/c/catalog.db")
        #expect(config.originals == .move(doneDir: "/done"))
        #expect(config.socket.mode == 0o600)
        #expect(config.socket.allowedUIDs == [1000, 0])
        #expect(config.socket.allowedGIDs == [0])
        #expect(config.socket.idleTimeoutSeconds == 2.5)
        #expect(config.restoreRoots == ["/r1", "/r2"])
        #expect(config.batching == .init(maxImages: 10, maxRawBytes: 512 << 20, maxAgeSeconds: 30))
        #expect(config.verifyToleranceDB == 0.05)
        #expect(config.watch == .init(stabilitySeconds: 1, rescanIntervalSeconds: 10))
        #expect(config.retrain == .init(schedule: .every(seconds: 43_200), budgetSeconds: 1800, reservoirCrops: 100))
        #expect(config.logLevel == "debug")
    }

    @Test func unknownKeysNameTheirPath() {
        expectError(minimal + "\nfoo: 1", code: .configUnknownKey, keyPath: "foo")
        expectError(minimal + "\n  mdoe: \"0600\"", code: .configUnknownKey, keyPath: "socket.mdoe")
        expectError(minimal.replacingOccurrences(of: "inbox: ../inbox", with: "inbox: ../inbox\n    qualty: 3"),
                    code: .configUnknownKey, keyPath: "spools[0].qualty")
    }

    @Test func missingKeys() {
        expectError(minimal.replacingOccurrences(of: "archive_dir: /data/archives\n", with: ""),
                    code: .configMissingKey, keyPath: "archive_dir")
        expectError(minimal.replacingOccurrences(of: "  path: /run/nacre/nacre.sock", with: "  mode: \"0600\""),
                    code: .configMissingKey, keyPath: "socket.path")
        expectError(minimal + "\noriginals: {policy: move}", code: .configMissingKey, keyPath: "originals.done_dir")
        expectError("", code: .configMissingKey, keyPath: nil)
    }

    @Test func badValues() {
        expectError(minimal + "\nencode: {quality: 0}", code: .configInvalidValue, keyPath: "encode.quality")
        expectError(minimal + "\nencode: {quality: high}", code: .configInvalidValue, keyPath: "encode.quality")
        expectError(minimal + "\nencode: {quality: 50, target_psnr_db: 30}", code: .configInvalidValue, keyPath: "encode.target_psnr_db")
        expectError(minimal + "\n  mode: \"0999\"", code: .configInvalidValue, keyPath: "socket.mode")
        expectError(minimal + "\n  mode: \"0066\"", code: .configInvalidValue, keyPath: "socket.mode")
        expectError(minimal + "\n  allowed_uids: [no-such-user-nacre]", code: .configInvalidValue, keyPath: "socket.allowed_uids[0]")
        expectError(minimal + "\n  idle_timeout_seconds: -1", code: .configInvalidValue, keyPath: "socket.idle_timeout_seconds")
        expectError(minimal + "\nbatch: {max_raw_bytes: 12 parsecs}", code: .configInvalidValue, keyPath: "batch.max_raw_bytes")
        expectError(minimal + "\nretrain: {schedule: daily 25:00}", code: .configInvalidValue, keyPath: "retrain.schedule")
        expectError(minimal + "\nretrain: {schedule: sometimes}", code: .configInvalidValue, keyPath: "retrain.schedule")
        expectError(minimal + "\noriginals: {policy: shred}", code: .configInvalidValue, keyPath: "originals.policy")
        expectError(minimal + "\nlog_level: loud", code: .configInvalidValue, keyPath: "log_level")
        expectError(minimal.replacingOccurrences(of: "spools:\n  - name: main\n    inbox: ../inbox", with: "spools: []"),
                    code: .configInvalidValue, keyPath: "spools")
        expectError(minimal + "\nrestore_roots: /not/a/list", code: .configInvalidValue, keyPath: "restore_roots")
    }

    @Test func spoolsMustBeDistinctAndApartFromOutputs() {
        expectError(minimal.replacingOccurrences(of: "    inbox: ../inbox", with: "    inbox: ../inbox\n  - {name: main, inbox: /x}"),
                    code: .configInvalidValue, keyPath: "spools[1].name")
        expectError(minimal.replacingOccurrences(of: "    inbox: ../inbox", with: "    inbox: ../inbox\n  - {name: b, inbox: ../inbox}"),
                    code: .configInvalidValue, keyPath: "spools[1].inbox")
        expectError(minimal.replacingOccurrences(of: "inbox: ../inbox", with: "inbox: /data/archives/in"),
                    code: .configInvalidValue, keyPath: "spools[0].inbox")
    }

    @Test func socketPathLengthIsChecked() {
        let long = "/run/" + String(repeating: "x", count: 110) + ".sock"
        expectError(minimal.replacingOccurrences(of: "/run/nacre/nacre.sock", with: long),
                    code: .configInvalidValue, keyPath: "socket.path")
    }

    @Test func syntaxErrorsAndUnreadableFiles() {
        expectError("spools: [\n", code: .configSyntax, keyPath: nil)
        #expect(throws: DaemonError.self) { try DaemonConfig.load(path: "/nonexistent/nacre.yaml") }
        do {
            _ = try DaemonConfig.load(path: "/nonexistent/nacre.yaml")
        } catch {
            #expect(error.code == .configUnreadable)
        }
    }

    @Test func errorsMentionTheLine() {
        do {
            _ = try parse(minimal + "\nencode: {quality: 500}")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("line 9"), "\(error.message)")
            #expect(error.description.contains("encode.quality"))
        }
    }

    @Test func reloadKeepsRestartOnlySettings() throws {
        let old = try parse(minimal)
        var new = try parse(minimal.replacingOccurrences(of: "/run/nacre/nacre.sock", with: "/run/other.sock") + "\nencode: {quality: 20}")
        new.logLevel = "debug"
        #expect(old.restartRequiredChanges(to: new) == ["socket.path", "log_level"])
        let applied = old.applyingReloadable(from: new)
        #expect(applied.socket.path == "/run/nacre/nacre.sock")
        #expect(applied.logLevel == "info")
        #expect(applied.encode == .quality(20))
    }
}
