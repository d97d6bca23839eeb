import Foundation

/// `retain_until` as a caller gives it: an RFC 3339 date-time (`2027-03-01T00:00:00Z`, any
/// offset) or a date (`2027-03-01`, midnight UTC), in the future and at most 10 years ahead.
public enum RetentionDate {
    public static let maximum: TimeInterval = 10 * 366 * 24 * 3600

    public static func parse(_ text: String, now: Date) throws(VaultError) -> Date {
        let bad = VaultError.invalid(
            "retain_until", code: .invalidRetainUntil,
            "retain_until must be an RFC 3339 date-time or date, in the future and at most 10 years ahead")
        guard text.utf8.count <= 40 else { throw bad }
        let full = ISO8601DateFormatter()
        full.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        day.timeZone = TimeZone(identifier: "UTC")
        guard let date = full.date(from: text) ?? fractional.date(from: text) ?? (text.count == 10 ? day.date(from: text) : nil) else { throw bad }
        guard date > now, date.timeIntervalSince(now) <= maximum else { throw bad }
        return date
    }
}
