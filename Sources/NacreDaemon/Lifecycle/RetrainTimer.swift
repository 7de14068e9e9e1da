import Foundation

/// When the configured schedule (`retrain.schedule`) wants the next run.
struct RetrainTimer: Sendable {
    let schedule: DaemonConfig.RetrainSchedule

    /// Whether a run is due at `now`, given when the last run started (or, before the first run,
    /// when the schedule was first armed, so a new daemon does not start training at once).
    func isDue(now: Date, lastStarted: Date, calendar: Calendar = .current) -> Bool {
        switch schedule {
        case .off:
            return false
        case .every(let seconds):
            return now.timeIntervalSince(lastStarted) >= seconds
        case .daily(let hour, let minute):
            guard let latest = Self.latestOccurrence(hour: hour, minute: minute, atOrBefore: now, calendar: calendar) else { return false }
            return lastStarted < latest
        }
    }

    /// The most recent local HH:MM at or before `now`.
    static func latestOccurrence(hour: Int, minute: Int, atOrBefore now: Date, calendar: Calendar) -> Date? {
        guard let today = calendar.date(bySettingHour: hour, minute: minute, second: 0, of: now) else { return nil }
        return today <= now ? today : calendar.date(byAdding: .day, value: -1, to: today)
    }

    /// The schedule as the config writes it, for `status`.
    var text: String {
        switch schedule {
        case .off: return "off"
        case .daily(let hour, let minute): return String(format: "daily %02d:%02d", hour, minute)
        case .every(let seconds): return "every \(Int(seconds))s"
        }
    }
}
