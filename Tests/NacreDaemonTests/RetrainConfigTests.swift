import Foundation
import Testing
@testable import NacreDaemon

/// The `retrain:` keys of the config: defaults, the reservoir switch and the checked ranges.
@Suite("Retrain config")
struct RetrainConfigTests {
    private let minimal = """
        spools: [{name: main, inbox: /in}]
        archive_dir: /a
        state_dir: /s
        quarantine_dir: /q
        socket: {path: /run/n.sock}
        """

    private func parse(_ retrain: String) throws(DaemonError) -> DaemonConfig.Retrain {
        try DaemonConfig.parse(yaml: minimal + "\nretrain: " + retrain, configPath: "/etc/nacre.yaml").retrain
    }

    @Test func defaultsAndEveryKey() throws {
        let defaults = try DaemonConfig.parse(yaml: minimal, configPath: "/etc/nacre.yaml").retrain
        #expect(defaults == DaemonConfig.Retrain(schedule: .off, budgetSeconds: 3600, reservoirCrops: 4096, cropSide: 256,
                                                 holdoutPercent: 10, gateMarginPercent: -1, threads: 1, maxSteps: nil))
        let all = try parse("{schedule: every 2h, budget_minutes: 5, reservoir_crops: 100, crop_side: 128, holdout_percent: 25, gate_margin_percent: -2.5, threads: 2, max_steps: 500}")
        #expect(all == DaemonConfig.Retrain(schedule: .every(seconds: 7200), budgetSeconds: 300, reservoirCrops: 100, cropSide: 128,
                                            holdoutPercent: 25, gateMarginPercent: -2.5, threads: 2, maxSteps: 500))
    }

    @Test func zeroCropsTurnsTheReservoirOffAndBadValuesAreRefused() throws {
        #expect(try parse("{reservoir_crops: 0}").reservoirCrops == 0)
        for bad in ["{reservoir_crops: 8}", "{crop_side: 100}", "{crop_side: 32}", "{holdout_percent: 0}", "{holdout_percent: 80}",
                    "{gate_margin_percent: -101}", "{threads: 0}", "{max_steps: 0}", "{reservoir: off}"] {
            #expect(throws: DaemonError.self, "\(bad)") { try parse(bad) }
        }
    }
}
