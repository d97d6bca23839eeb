import Foundation
import VaultCrypto
import VaultDomain

/// The mapping file an import writes back: one CSV record per row of the card file
/// (`line,reference,token,fingerprint,status,error`), sealed to a key the operator names, so
/// the exporter can replace its references with vault tokens. It never holds card data: the
/// reference is refused when it looks like a card number, and errors name fields and codes.
public final class MappingFileWriter {
    private let output: SealedFileOutput

    public init(path: String, recipient: [UInt8]) throws(VaultError) {
        output = try SealedFileOutput(path: path, recipient: recipient, failed: Self.failed)
        try output.write(Array("line,reference,token,fingerprint,status,error\n".utf8))
    }

    public func append(_ outcomes: [CardImportOutcome]) throws(VaultError) {
        var text = ""
        for o in outcomes {
            let error = o.issues.map { "\($0.field):\($0.code.rawValue)" }.joined(separator: ";")
            text +=
                [String(o.line), o.reference ?? "", o.token?.rawValue ?? "", o.fingerprint?.rawValue ?? "", o.status.rawValue, error]
                .map(Self.quoted).joined(separator: ",") + "\n"
        }
        try output.write(Array(text.utf8))
    }

    /// Seals the last chunk and closes the file.
    public func finish() throws(VaultError) { try output.finish() }

    static let failed = VaultError(.unavailable, code: .storageUnavailable, message: "the mapping file could not be written")

    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
