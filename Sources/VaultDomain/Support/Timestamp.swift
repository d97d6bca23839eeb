import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// UTC timestamps as `2026-11-23T19:42:40.891Z` (RFC 3339, milliseconds), formatted by hand:
/// Foundation's ISO8601DateFormatter costs tens of microseconds per call on Linux, and one is
/// needed for every audit row and every answer.
enum Timestamp {
    static func format(_ date: Date) -> String {
        // Nearest millisecond, as Foundation rounds (a test keeps the two identical).
        let total = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(total >= 0 ? total / 1000 : (total - 999) / 1000)
        let millis = Int(total - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(unsafeUninitializedCapacity: 24) { out in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var v = value
                for i in stride(from: offset + width - 1, through: offset, by: -1) {
                    out[i] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                    v /= 10
                }
            }
            put(Int(parts.tm_year) + 1900, 4, at: 0); out[4] = 0x2D
            put(Int(parts.tm_mon) + 1, 2, at: 5); out[7] = 0x2D
            put(Int(parts.tm_mday), 2, at: 8); out[10] = 0x54
            put(Int(parts.tm_hour), 2, at: 11); out[13] = 0x3A
            put(Int(parts.tm_min), 2, at: 14); out[16] = 0x3A
            put(Int(parts.tm_sec), 2, at: 17); out[19] = 0x2E
            put(millis, 3, at: 20); out[23] = 0x5A
            return 24
        }
    }
}

/// The storage form of dates: integer milliseconds since 1970 (UTC). Cheaper to bind and read
/// than any text form; `datetime(created_at / 1000, 'unixepoch')` shows one in `sqlite3`.
public enum StoredDate {
    public static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    public static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}
