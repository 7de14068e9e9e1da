import Foundation
import Testing
import NacreCodec

/// The gate's JSON, as `nacre gate --json` writes it and the daemon reads it back.
struct GateReportTests {
    @Test func roundTripsWithTheWireNamesAndAnInfinitePSNR() throws {
        let champion = RateDistortionCurve(method: "champion", bpp: [0.2, 0.5], psnr: [30, .infinity])
        let challenger = RateDistortionCurve(method: "challenger", bpp: [0.19, 0.48], psnr: [30.1, 40])
        let report = GateReport(championID: "aa", challengerID: "bb", bdRatePercent: nil, marginPercent: -1, promote: false,
                                summary: "rejected", crops: 3, champion: champion, challenger: challenger)
        let data = try report.json()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["champion_id"] as? String == "aa" && object["margin_percent"] as? Double == -1)
        #expect(object["bd_rate_percent"] == nil, "a BD-rate that is not finite is left out")
        let back = try GateReport.decode(data)
        #expect(back.championID == "aa" && back.challengerID == "bb" && back.bdRatePercent == nil && !back.promote)
        #expect(back.champion == champion && back.challenger == challenger && back.crops == 3)
    }
}
