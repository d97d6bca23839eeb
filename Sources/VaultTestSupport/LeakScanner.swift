/// Looks for secrets in bytes: each needle in plain ASCII and with the separators a PAN is
/// commonly written with.
public struct LeakScanner: Sendable {
    public let needles: [String]

    public init(needles: [String]) { self.needles = needles }

    /// The needles found in `haystack`, with the place they were found.
    public func scan(_ haystack: [UInt8], place: String) -> [String] {
        var found: [String] = []
        for needle in needles {
            for form in Self.forms(of: needle) where Self.contains(haystack, Array(form.utf8)) {
                found.append("\(place): \(needle.prefix(4))…(\(needle.count) chars) as '\(form.count == needle.count ? "plain" : "separated")'")
                break
            }
        }
        return found
    }

    public func scan(_ text: String, place: String) -> [String] { scan(Array(text.utf8), place: place) }

    static func forms(of needle: String) -> [String] {
        guard needle.count >= 12 else { return [needle] }
        let chars = Array(needle)
        func grouped(_ sep: String) -> String {
            stride(from: 0, to: chars.count, by: 4).map { String(chars[$0..<min($0 + 4, chars.count)]) }.joined(separator: sep)
        }
        return [needle, grouped(" "), grouped("-")]
    }

    public static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
