import Foundation
import VaultCrypto
import VaultDomain

/// The card file `cardvault export` writes: JSON lines of number, exp_month, exp_year, holder,
/// token and fingerprint, sealed to the recipient (`SealedStreamWriter`), into a new file of mode
/// 0600. Another vault's `cardvault import` reads it as it is (the token becomes the reference).
/// Each line is built in a buffer that is zeroed once it is sealed.
public final class CardFileWriter {
    private let output: SealedFileOutput
    private var line: [UInt8] = []

    public init(path: String, recipient: [UInt8]) throws(VaultError) {
        output = try SealedFileOutput(path: path, recipient: recipient, failed: Self.failed)
        line.reserveCapacity(256)
    }

    deinit { wipe(&line) }

    public func append(_ card: CardExporter.Card) throws(VaultError) {
        defer {
            wipe(&line)
            line.removeAll(keepingCapacity: true)
        }
        line += Array(#"{"number":""#.utf8)
        card.data.pan.withDigits { line.append(contentsOf: $0) }
        line += Array(#"","exp_month":""#.utf8) + Array(card.data.expiry.monthText.utf8)
        line += Array(#"","exp_year":""#.utf8) + Array(card.data.expiry.yearText.utf8) + [0x22]
        if let holder = card.data.holder?.name { line += Array(#","holder":"#.utf8) + Self.quoted(holder) }
        line += Array(#","token":""#.utf8) + Array(card.token.rawValue.utf8)
        line += Array(#"","fingerprint":""#.utf8) + Array(card.fingerprint.rawValue.utf8) + Array("\"}\n".utf8)
        try output.write(line)
    }

    /// Seals the last chunk and closes the file.
    public func finish() throws(VaultError) { try output.finish() }

    static let failed = VaultError(.unavailable, code: .storageUnavailable, message: "the export file could not be written")

    /// A JSON string (RFC 8259 escapes; a holder has no control characters, but escape anyway).
    static func quoted(_ text: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for byte in text.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        out.append(0x22)
        return out
    }
}
