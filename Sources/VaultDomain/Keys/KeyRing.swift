import Synchronization
import VaultCrypto

/// The unwrapped keys a running process works with: the master key (key-encryption key), every
/// usable data-key version, and the purpose keys derived from the index key. All bytes sit in
/// guarded memory; under the `pkcs11` seal the master key stays in the token.
///
/// `refresh(from:)` is called with a fresh `KeySnapshot` (the server polls every second, and
/// again whenever it meets a version it does not know), so a `keys rotate` or
/// `keys rotate-master` run by the CLI reaches a running server without a restart.
///
/// Where the master key comes from follows the snapshot's seal: the keys folder (`file`), the
/// key rebuilt from custodians' shares and handed over by `unseal(master:)` (`shamir`), or the
/// token (`pkcs11`). `seal()` drops every key; until the next unseal the ring answers `sealed`.
public final class KeyRing: Sendable {
    struct Loaded: Sendable {
        var snapshot: KeySnapshot
        var kek: any KeyEncryptionKey
        var dataKeys: [Int: DataKey]
        var active: Int
        var derived: DerivedKeys
    }

    struct SealState: Sendable {
        /// shamir: the master key rebuilt from shares (or made by init, rekey, rotate-master).
        var unsealedMaster: SymmetricKey?
        /// Set by `seal()`: no key is loaded, whatever the seal, until `unseal`.
        var sealedByOperator = false
        /// The seal of the last snapshot seen.
        var kind: SealDescriptor.Kind?
    }

    public let directory: KeyDirectory
    private let loaded = Mutex<Loaded?>(nil)
    private let sealState = Mutex(SealState())
    private let openHardware: (@Sendable () throws(VaultError) -> any HardwareKeyStore)?
    private let hardware = Mutex<(any HardwareKeyStore)?>(nil)

    /// `hardware` opens the PKCS#11 token on first use (only vaults under the `pkcs11` seal
    /// need it).
    public init(directory: KeyDirectory, hardware: (@Sendable () throws(VaultError) -> any HardwareKeyStore)? = nil) {
        self.directory = directory
        self.openHardware = hardware
    }

    /// Loads or reloads from stored key material; a no-op when nothing changed.
    public func refresh(from snapshot: KeySnapshot) throws(VaultError) {
        let sealedByOperator = sealState.withLock {
            $0.kind = snapshot.seal.kind
            return $0.sealedByOperator
        }
        if sealedByOperator { throw VaultError.sealed }
        if loaded.withLock({ $0?.snapshot == snapshot }) { return }
        guard snapshot.isInitialised, let index = snapshot.indexKey, let active = snapshot.activeVersion else {
            throw VaultError.keysNotInitialised
        }
        let kek = try keyEncryptionKey(for: index.kekID, seal: snapshot.seal, current: loaded.withLock { $0?.kek })
        let indexKey = try kek.unwrap(index.box, associatedData: WrappedIndexKey.associatedData(kekID: index.kekID))
        var dataKeys: [Int: DataKey] = [:]
        for wrapped in snapshot.dataKeys where wrapped.state != .retired {
            guard let box = wrapped.box else { continue }
            let unwrapping = wrapped.kekID == kek.id ? kek : try keyEncryptionKey(for: wrapped.kekID, seal: snapshot.seal, current: nil)
            let key = try unwrapping.unwrap(box, associatedData: WrappedDataKey.associatedData(version: wrapped.version, kekID: wrapped.kekID))
            dataKeys[wrapped.version] = DataKey(version: wrapped.version, key: key)
        }
        let next = Loaded(snapshot: snapshot, kek: kek, dataKeys: dataKeys, active: active, derived: try DerivedKeys(index: indexKey))
        loaded.withLock { $0 = next }
    }

    /// The master key the database names (`kekID`), from where the seal keeps it.
    func keyEncryptionKey(for kekID: String, seal: SealDescriptor, current: (any KeyEncryptionKey)?) throws(VaultError) -> any KeyEncryptionKey {
        if let current, current.id == kekID { return current }
        switch seal.kind {
        case .file:
            return SoftwareKeyEncryptionKey(try Self.master(for: kekID, directory: directory, current: nil))
        case .shamir:
            guard let master = sealState.withLock({ $0.unsealedMaster }) else { throw VaultError.sealed }
            guard master.checkValue == kekID else {
                throw VaultError(.unavailable, code: .masterKeyMismatch, message: "the unsealed master key did not wrap the keys in this database")
            }
            return SoftwareKeyEncryptionKey(master)
        case .pkcs11:
            guard let label = seal.keyLabel else { throw VaultError(.failedPrecondition, code: .sealInvalid, message: "the pkcs11 seal names no key label") }
            let key = try hardwareKeys().key(label: label)
            guard key.id == kekID else {
                throw VaultError(.unavailable, code: .masterKeyMismatch, message: "the token key \(label) did not wrap the keys in this database")
            }
            return key
        }
    }

    /// Finds the master key whose check value the database names: the one in memory, the
    /// file, or the successor an interrupted `rotate-master` left behind.
    static func master(for kekID: String, directory: KeyDirectory, current: SymmetricKey?) throws(VaultError) -> SymmetricKey {
        if let current, current.checkValue == kekID { return current }
        let file = try directory.loadMasterKey()
        if file.checkValue == kekID { return file }
        if let pending = directory.loadPendingMasterKey(), pending.checkValue == kekID { return pending }
        if let previous = directory.loadPreviousMasterKey(), previous.checkValue == kekID { return previous }
        throw VaultError(
            .unavailable, code: .masterKeyMismatch,
            message: "the master key in \(directory.path) did not wrap the keys in this database")
    }

    /// The PKCS#11 token, opened on first use.
    public func hardwareKeys() throws(VaultError) -> any HardwareKeyStore {
        if let open = hardware.withLock({ $0 }) { return open }
        guard let openHardware else {
            throw VaultError(
                .failedPrecondition, code: .sealInvalid,
                message: "the pkcs11 seal needs CARDVAULT_PKCS11_MODULE, CARDVAULT_PKCS11_TOKEN and CARDVAULT_PKCS11_PIN_FILE")
        }
        let store = try openHardware()
        hardware.withLock { $0 = store }
        return store
    }

    /// Hands over the master key rebuilt from shares (shamir) and lifts an operator's seal.
    /// The caller then refreshes from a snapshot.
    public func unseal(master: SymmetricKey?) {
        sealState.withLock {
            if let master { $0.unsealedMaster = master }
            $0.sealedByOperator = false
        }
    }

    /// Drops every key from memory (the guarded pages are wiped as they are released); the
    /// ring answers `sealed` until `unseal`.
    public func seal() {
        sealState.withLock {
            $0.unsealedMaster = nil
            $0.sealedByOperator = true
        }
        loaded.withLock { $0 = nil }
    }

    /// True while no key is loaded because of the seal (an operator sealed the vault, or a
    /// shamir vault waits for its shares).
    public var isSealed: Bool {
        !isLoaded && sealState.withLock { $0.sealedByOperator || ($0.kind == .shamir && $0.unsealedMaster == nil) }
    }

    public var isLoaded: Bool { loaded.withLock { $0 != nil } }

    public func activeKey() throws(VaultError) -> DataKey {
        let key = loaded.withLock { state in state.flatMap { $0.dataKeys[$0.active] } }
        guard let key else { throw notLoaded }
        return key
    }

    public func key(version: Int) throws(VaultError) -> DataKey {
        guard let key = loaded.withLock({ $0?.dataKeys[version] }) else {
            if !isLoaded { throw notLoaded }
            throw VaultError.keyUnavailable
        }
        return key
    }

    /// Opens a stored card with its key version and its tenant's fingerprint key (checking the
    /// row's fingerprint against the PAN inside).
    public func open(_ card: SealedCard) throws(VaultError) -> CardData {
        try card.open(with: key(version: card.keyVersion), fingerprintKey: derivedKeys().tenant(card.tenant).fingerprint)
    }

    public func derivedKeys() throws(VaultError) -> DerivedKeys {
        guard let keys = loaded.withLock({ $0?.derived }) else { throw notLoaded }
        return keys
    }

    /// The master key as loaded (any seal).
    public func keyEncryptionKey() throws(VaultError) -> any KeyEncryptionKey {
        guard let kek = loaded.withLock({ $0?.kek }) else { throw notLoaded }
        return kek
    }

    /// The master key's bytes, for the seals that hold them (file, shamir).
    public func masterKey() throws(VaultError) -> SymmetricKey {
        guard let kek = try keyEncryptionKey() as? SoftwareKeyEncryptionKey else {
            throw VaultError(.failedPrecondition, code: .sealInvalid, message: "the master key stays inside the PKCS#11 token")
        }
        return kek.key
    }

    /// The seal the loaded keys came through.
    public var loadedSeal: SealDescriptor? { loaded.withLock { $0?.snapshot.seal } }

    public var activeVersion: Int? { loaded.withLock { $0?.active } }

    /// Why nothing is loaded: sealed (by an operator, or a shamir vault not yet unsealed), or
    /// never initialised.
    private var notLoaded: VaultError {
        sealState.withLock { $0.sealedByOperator || ($0.kind == .shamir && $0.unsealedMaster == nil) }
            ? VaultError.sealed : VaultError.keysNotInitialised
    }
}
