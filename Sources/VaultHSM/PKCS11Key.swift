import CPKCS11
import VaultCrypto
import VaultDomain

/// A master key that stays inside the token: only its handle and a public id are here.
struct PKCS11Key: KeyEncryptionKey {
    let store: PKCS11KeyStore
    let handle: CK_OBJECT_HANDLE
    /// `p11-` and the key's random `CKA_ID` (hex): names it in the database.
    let id: String

    static func id(for ckaID: [UInt8]) -> String { "p11-" + Hex.encode(ckaID) }

    func wrap(_ key: SymmetricKey, associatedData: [UInt8]) throws(VaultError) -> SealedBox {
        var result: Result<SealedBox, VaultError> = .failure(VaultError.keyUnavailable)
        key.withUnsafeBytes { bytes in
            do { result = .success(try store.encrypt(handle, bytes, associatedData: associatedData)) } catch let error as VaultError {
                result = .failure(error)
            } catch { result = .failure(.keyUnavailable) }
        }
        return try result.get()
    }

    func unwrap(_ box: SealedBox, associatedData: [UInt8]) throws(VaultError) -> SymmetricKey {
        let bytes = try store.decrypt(handle, box, associatedData: associatedData)
        do { return try SymmetricKey(bytes) } catch {
            throw VaultError(.unavailable, code: .keyUnwrapFailed, message: "a stored key does not unwrap under the token key")
        }
    }
}
