import Synchronization
import VaultCrypto

/// The unwrapped keys a running process works with: the master key, every usable data-key
/// version, and the purpose keys derived from the index key. All bytes sit in guarded memory.
///
/// `refresh(from:)` is called with a fresh `KeySnapshot` (the server polls every second, and
/// again whenever it meets a version it does not know), so a `keys rotate` or
/// `keys rotate-master` run by the CLI reaches a running server without a restart.
public final class KeyRing: Sendable {
    struct Loaded: Sendable {
        var snapshot: KeySnapshot
        var master: SymmetricKey
        var dataKeys: [Int: DataKey]
        var active: Int
        var derived: DerivedKeys
    }

    public let directory: KeyDirectory
    private let loaded = Mutex<Loaded?>(nil)

    public init(directory: KeyDirectory) {
        self.directory = directory
    }

    /// Loads or reloads from stored key material; a no-op when nothing changed.
    public func refresh(from snapshot: KeySnapshot) throws(VaultError) {
        if loaded.withLock({ $0?.snapshot == snapshot }) { return }
        guard snapshot.isInitialised, let index = snapshot.indexKey, let active = snapshot.activeVersion else {
            throw VaultError.keysNotInitialised
        }
        let master = try Self.master(for: index.kekID, directory: directory, current: loaded.withLock { $0?.master })
        let indexKey = try KeyWrap.unwrap(index.box, associatedData: WrappedIndexKey.associatedData(kekID: index.kekID), master: master)
        var dataKeys: [Int: DataKey] = [:]
        for wrapped in snapshot.dataKeys where wrapped.state != .retired {
            guard let box = wrapped.box else { continue }
            let unwrapMaster =
                wrapped.kekID == master.checkValue
                ? master : try Self.master(for: wrapped.kekID, directory: directory, current: nil)
            let key = try KeyWrap.unwrap(
                box, associatedData: WrappedDataKey.associatedData(version: wrapped.version, kekID: wrapped.kekID), master: unwrapMaster)
            dataKeys[wrapped.version] = DataKey(version: wrapped.version, key: key)
        }
        let next = Loaded(snapshot: snapshot, master: master, dataKeys: dataKeys, active: active, derived: try DerivedKeys(index: indexKey))
        loaded.withLock { $0 = next }
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

    public var isLoaded: Bool { loaded.withLock { $0 != nil } }

    public func activeKey() throws(VaultError) -> DataKey {
        let key = loaded.withLock { state in state.flatMap { $0.dataKeys[$0.active] } }
        guard let key else { throw VaultError.keysNotInitialised }
        return key
    }

    public func key(version: Int) throws(VaultError) -> DataKey {
        guard let key = loaded.withLock({ $0?.dataKeys[version] }) else { throw VaultError.keyUnavailable }
        return key
    }

    public func derivedKeys() throws(VaultError) -> DerivedKeys {
        guard let keys = loaded.withLock({ $0?.derived }) else { throw VaultError.keysNotInitialised }
        return keys
    }

    public func masterKey() throws(VaultError) -> SymmetricKey {
        guard let key = loaded.withLock({ $0?.master }) else { throw VaultError.keysNotInitialised }
        return key
    }

    public var activeVersion: Int? { loaded.withLock { $0?.active } }
}
