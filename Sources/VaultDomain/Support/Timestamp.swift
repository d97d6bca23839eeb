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
        // Nearest millisecond, so that a parsed timestamp formats back to the same text.
        let total = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(total >= 0 ? total / 1000 : (total - 999) / 1000)
        let millis = Int(total - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ value: Int, _ width: Int) {
            var digits = [UInt8](repeating: 0x30, count: width)
            var v = value
            for i in stride(from: width - 1, through: 0, by: -1) {
                digits[i] = UInt8(0x30 + v % 10)
                v /= 10
            }
            out.append(contentsOf: digits)
        }
        put(Int(parts.tm_year) + 1900, 4); out.append(0x2D)
        put(Int(parts.tm_mon) + 1, 2); out.append(0x2D)
        put(Int(parts.tm_mday), 2); out.append(0x54)
        put(Int(parts.tm_hour), 2); out.append(0x3A)
        put(Int(parts.tm_min), 2); out.append(0x3A)
        put(Int(parts.tm_sec), 2); out.append(0x2E)
        put(millis, 3); out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }
}

extension Timestamp {
    /// Parses exactly the format `format(_:)` writes; nil for anything else.
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 24, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x2E, b[23] == 0x5A else {
            return nil
        }
        func num(_ from: Int, _ width: Int) -> Int? {
            var v = 0
            for i in from..<(from + width) {
                guard (0x30...0x39).contains(b[i]) else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let year = num(0, 4), let month = num(5, 2), let day = num(8, 2), let hour = num(11, 2),
              let minute = num(14, 2), let second = num(17, 2), let millis = num(20, 3) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + Double(millis) / 1000)
    }
}

/// The storage form of dates: `Timestamp` text, sortable and readable in `sqlite3`.
public enum StoredDate {
    public static func text(_ date: Date) -> String { Timestamp.format(date) }
    public static func date(_ text: String) -> Date? { Timestamp.parse(text) }
}
