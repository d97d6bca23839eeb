/// Last line of defence for text that comes from outside (provider answers): any run of 12 to
/// 19 digits that passes the Luhn check is replaced by its masked form.
public enum PANScrubber {
    public static func scrub(_ text: String) -> String {
        // Almost every string in an answer has no run of 12 digits: answer those without copying.
        var run = 0
        guard text.utf8.contains(where: { byte in
            run = (0x30...0x39).contains(byte) ? run + 1 : 0
            return run >= 12
        }) else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        var changed = false
        while i < bytes.count {
            guard (0x30...0x39).contains(bytes[i]) else { out.append(bytes[i]); i += 1; continue }
            var j = i
            while j < bytes.count, (0x30...0x39).contains(bytes[j]) { j += 1 }
            let run = Array(bytes[i..<j])
            if (12...19).contains(run.count), let pan = try? PrimaryAccountNumber(validating: String(decoding: run, as: UTF8.self)) {
                out.append(contentsOf: Array(pan.masked.utf8))
                changed = true
            } else {
                out.append(contentsOf: run)
            }
            i = j
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }
}
