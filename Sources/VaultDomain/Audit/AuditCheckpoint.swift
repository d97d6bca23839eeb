import Foundation
import VaultCrypto

/// A signed statement of the audit chain's head: "row `seq` has hash `head`", made by the
/// server every `CARDVAULT_AUDIT_CHECKPOINT_ROWS` rows or `_SECONDS` seconds and at start and
/// stop, and written outside the database (the anchor file, the log). `audit verify --anchor`
/// holds the database to every checkpoint: a truncated log or a database rolled back to an
/// older copy no longer has the row, or has another one.
public struct AuditCheckpoint: Sendable, Codable, Equatable {
    public static let kind = "cardvault.audit_checkpoint.v1"

    public let type: String
    public let seq: Int64
    /// The row's chain hash, hex.
    public let head: String
    public let at: String
    /// The signing key's public half, hex (the vault derives it; this names which one signed).
    public let key: String
    /// Ed25519 over `message`, hex.
    public let signature: String

    public init(entry: AuditEntry, at date: Date, key: Ed25519SigningKey) {
        type = Self.kind
        seq = entry.seq
        head = Hex.encode(entry.hash)
        at = Timestamp.format(date)
        self.key = Hex.encode(key.publicKey)
        signature = Hex.encode(key.sign(Self.message(seq: seq, head: head, at: at)))
    }

    static func message(seq: Int64, head: String, at: String) -> [UInt8] {
        Array("\(kind)|\(seq)|\(head)|\(at)".utf8)
    }

    /// Whether `publicKey` signed this checkpoint.
    public func isSigned(by publicKey: [UInt8]) -> Bool {
        guard type == Self.kind, let signature = Hex.decode(signature) else { return false }
        return Ed25519SigningKey.verify(signature, of: Self.message(seq: seq, head: head, at: at), publicKey: publicKey)
    }

    /// One line of the anchor file.
    public var line: String { String(decoding: VaultJSON.encode(self), as: UTF8.self) }
}
