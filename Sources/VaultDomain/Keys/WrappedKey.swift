import Foundation
import VaultCrypto

/// A data key as stored: AEAD-wrapped under the master key (KEK) named by `kekID`.
public struct WrappedDataKey: Sendable, Equatable {
    public var version: Int
    public var state: DataKeyState
    public var kekID: String
    /// nil once retired: the key is destroyed.
    public var box: SealedBox?
    public var createdAt: Date
    public var retiredAt: Date?

    public init(version: Int, state: DataKeyState, kekID: String, box: SealedBox?, createdAt: Date, retiredAt: Date?) {
        self.version = version
        self.state = state
        self.kekID = kekID
        self.box = box
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }

    static func associatedData(version: Int, kekID: String) -> [UInt8] {
        Array("cardvault.dek.v1|\(version)|\(kekID)".utf8)
    }
}

/// The root of the keyed hashes (fingerprints, audit chain, client secrets, idempotency),
/// wrapped under the master key. Sub-keys are derived from it per purpose.
public struct WrappedIndexKey: Sendable, Equatable {
    public var kekID: String
    public var box: SealedBox
    public var createdAt: Date

    public init(kekID: String, box: SealedBox, createdAt: Date) {
        self.kekID = kekID
        self.box = box
        self.createdAt = createdAt
    }

    static func associatedData(kekID: String) -> [UInt8] {
        Array("cardvault.index.v1|\(kekID)".utf8)
    }
}

/// Wrapping and unwrapping of keys under a master key held in memory.
enum KeyWrap {
    static func wrap(_ key: SymmetricKey, associatedData: [UInt8], master: SymmetricKey) -> SealedBox {
        key.withUnsafeBytes { XChaCha20Poly1305.seal($0, associatedData: associatedData, key: master) }
    }

    static func unwrap(_ box: SealedBox, associatedData: [UInt8], master: SymmetricKey) throws(VaultError) -> SymmetricKey {
        try SoftwareKeyEncryptionKey(master).unwrap(box, associatedData: associatedData)
    }
}
