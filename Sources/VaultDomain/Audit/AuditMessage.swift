/// The fields of an audit row as the chain hashes them: each length-prefixed, a missing one
/// as four 0xFF bytes.
struct AuditMessage {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    mutating func field(_ text: String?) {
        guard let text else { bytes.append(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF]); return }
        let utf8 = Array(text.utf8)
        let n = UInt32(utf8.count)
        bytes.append(contentsOf: [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
        bytes.append(contentsOf: utf8)
    }

    /// Every field after the position, as the log's chain has always hashed them. Rows
    /// without a tenant (all rows written before tenants existed) hash as they did.
    mutating func fields(of entry: AuditEntry) {
        field(entry.at); field(entry.client); field(entry.action)
        field(entry.subject); field(entry.outcome); field(entry.requestID); field(entry.source)
        if let tenant = entry.tenant { field(tenant) }
    }
}
