import Foundation
import Testing
@testable import NacreDaemon

/// Typed request arguments: unknown keys, types, ranges and dates are refused with
/// `invalid_argument` naming the argument.
@Suite("Command arguments")
struct CommandArgumentsTests {
    private func arguments(_ args: [String: JSONValue], allowed: Set<String> = ["name", "limit", "since", "until", "flag"])
        throws(ControlError) -> CommandArguments {
        try CommandArguments(ControlRequest(command: .list, args: args), allowed: allowed)
    }

    @Test func unknownArgumentsAreRefusedByName() {
        #expect(throws: ControlError(.invalidArgument, "'list' has no argument 'nmae'; it takes 'flag', 'limit', 'name', 'since', 'until'")) {
            try arguments(["nmae": "x"])
        }
    }

    @Test func typesAndRanges() throws {
        let args = try arguments(["name": 2024, "limit": 20.0, "flag": true])
        #expect(try args.string("name") == "2024", "an all-digit name sent as a number")
        #expect(try args.int("limit", in: 1...100) == 20)
        #expect(try args.bool("flag"))
        #expect(try args.bool("missing", default: true))
        #expect(try args.string("since") == nil)
        for bad: [String: JSONValue] in [["limit": 0], ["limit": 101], ["limit": 2.5], ["limit": "10"], ["limit": 1e300]] {
            #expect(throws: ControlError.self) { try arguments(bad).int("limit", in: 1...100) }
        }
        #expect(throws: ControlError.self) { try arguments(["flag": "yes"]).bool("flag") }
        #expect(throws: ControlError.self) { try arguments(["name": ""]).string("name") }
        #expect(throws: ControlError.self) { try arguments(["name": ["a"]]).string("name") }
    }

    @Test func datesAreISO8601AndAPlainUntilIncludesItsDay() throws {
        let day = try #require(CommandArguments.parseDate("2026-11-23", endOfDay: false))
        #expect(day == Date(timeIntervalSince1970: 1_795_392_000))
        #expect(CommandArguments.parseDate("2026-11-23", endOfDay: true) == day.addingTimeInterval(86_400))
        #expect(CommandArguments.parseDate("2026-11-23T01:00:00Z", endOfDay: true) == day.addingTimeInterval(3600))
        #expect(CommandArguments.parseDate("2026-11-23T02:00:00+01:00", endOfDay: false) == day.addingTimeInterval(3600))
        #expect(CommandArguments.parseDate("2026-11-23T01:00:00.500Z", endOfDay: false) == day.addingTimeInterval(3600.5))
        #expect(CommandArguments.parseDate("23/11/2026", endOfDay: false) == nil)
        #expect(CommandArguments.parseDate("2026-11-23T01:00:00", endOfDay: false) == nil, "a date-time needs a zone")
        #expect(throws: ControlError.self) { try arguments(["until": "tomorrow"]).date("until") }
    }

    @Test func ctlMapsCollectionWords() throws {
        let restore = try CtlInvocation.parse(["restore", "a/b.png", "to", "/r/x.png", "overwrite", "fast", "archive=batch-1"], environment: [:])
        #expect(restore.request?.args == ["image": "a/b.png", "to": "/r/x.png", "overwrite": true, "fast": true, "archive": "batch-1"])
        let search = try CtlInvocation.parse(["search", "2024/*", "since=2026-11-01", "limit=5"], environment: [:])
        #expect(search.request?.args == ["name": "2024/*", "since": "2026-11-01", "limit": 5])
        let verify = try CtlInvocation.parse(["verify", "limit=20", "after=b-7"], environment: [:])
        #expect(verify.request?.args == ["limit": 20, "after": "b-7"])
    }
}
