import CPKCS11
import Foundation
import VaultCrypto
import VaultDomain

#if canImport(Glibc)
    import Glibc
#endif

/// The `pkcs11` seal's token: one logged-in read-write session on the token named by the
/// settings. Keys it makes are AES-256, generated inside the token, `CKA_SENSITIVE` and not
/// `CKA_EXTRACTABLE`: their bytes never leave it. Wrapping is AES-256-GCM inside the token, with
/// a fresh 96-bit IV per wrap and the key's role (version, check value) as associated data.
///
/// Cryptoki sessions are not for concurrent use: every operation holds the session's lock. The
/// token is used only when key material changes (load, rotate, rotate-master), never per
/// request.
public final class PKCS11KeyStore: HardwareKeyStore, @unchecked Sendable {
    let module: PKCS11Module
    let session: CK_SESSION_HANDLE
    let lock = NSLock()
    public let tokenLabel: String

    /// Loads the module, finds the token by label, opens a session and logs in with the PIN
    /// read from `settings.pinFile`.
    public init(settings: PKCS11Settings) throws(VaultError) {
        module = try PKCS11Module.load(settings.module)
        tokenLabel = settings.token
        let f = module.functions.pointee
        let slot = try Self.slot(labelled: settings.token, functions: f)
        var session: CK_SESSION_HANDLE = 0
        var rv = f.C_OpenSession(slot, CK_FLAGS(CKF_SERIAL_SESSION | CKF_RW_SESSION), nil, nil, &session)
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_OpenSession", rv) }
        let pin = try Self.readPIN(settings.pinFile)
        rv = pin.withUnsafeBytes { bytes in
            f.C_Login(session, CK_USER_TYPE(CKU_USER), UnsafeMutablePointer(mutating: bytes.bindMemory(to: UInt8.self).baseAddress), CK_ULONG(bytes.count))
        }
        guard rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN else {
            _ = f.C_CloseSession(session)
            if rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE {
                throw VaultError(.unavailable, code: .hsmUnavailable, message: "the PIN in \(settings.pinFile) was refused by token \(settings.token)")
            }
            throw PKCS11Module.failure("C_Login", rv)
        }
        self.session = session
    }

    deinit {
        _ = module.functions.pointee.C_CloseSession(session)
    }

    static func slot(labelled label: String, functions f: CK_FUNCTION_LIST) throws(VaultError) -> CK_SLOT_ID {
        var count: CK_ULONG = 0
        var rv = f.C_GetSlotList(CK_BBOOL(CK_TRUE), nil, &count)
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_GetSlotList", rv) }
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        rv = f.C_GetSlotList(CK_BBOOL(CK_TRUE), &slots, &count)
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_GetSlotList", rv) }
        for slot in slots.prefix(Int(count)) {
            var info = CK_TOKEN_INFO()
            guard f.C_GetTokenInfo(slot, &info) == CKR_OK else { continue }
            let bytes = withUnsafeBytes(of: info.label) { Array($0) }
            let name = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\0")))
            if name == label { return slot }
        }
        throw VaultError(.unavailable, code: .hsmUnavailable, message: "no PKCS#11 token labelled \(label)")
    }

    /// The PIN file must be a regular file of the service user, unreadable by group and others.
    static func readPIN(_ path: String) throws(VaultError) -> SecureBytes {
        try SecretFile.read(path, setting: "CARDVAULT_PKCS11_PIN_FILE", code: .hsmUnavailable, maxBytes: 256)
    }

    // MARK: keys

    public func generateKey(label: String) throws(VaultError) -> any KeyEncryptionKey {
        lock.lock()
        defer { lock.unlock() }
        guard try find(label: label) == nil else {
            throw VaultError.invalid("key_label", code: .sealInvalid, "token \(tokenLabel) already holds a key labelled \(label)")
        }
        let id = SecureRandom.bytes(16)
        var template = AttributeTemplate()
        template.add(CKA_CLASS, ulong: CKO_SECRET_KEY)
        template.add(CKA_KEY_TYPE, ulong: CKK_AES)
        template.add(CKA_VALUE_LEN, ulong: 32)
        template.add(CKA_TOKEN, bool: true)
        template.add(CKA_PRIVATE, bool: true)
        template.add(CKA_SENSITIVE, bool: true)
        template.add(CKA_EXTRACTABLE, bool: false)
        template.add(CKA_ENCRYPT, bool: true)
        template.add(CKA_DECRYPT, bool: true)
        template.add(CKA_WRAP, bool: false)
        template.add(CKA_UNWRAP, bool: false)
        // The one mechanism the vault uses, and nothing else the key could be turned to: no
        // AES-ECB or CBC, no MACs, no derivation; and its attributes frozen, no copy to relax.
        template.add(CKA_ALLOWED_MECHANISMS, ulong: CKM_AES_GCM)
        template.add(CKA_SIGN, bool: false)
        template.add(CKA_VERIFY, bool: false)
        template.add(CKA_DERIVE, bool: false)
        template.add(CKA_MODIFIABLE, bool: false)
        template.add(CKA_COPYABLE, bool: false)
        template.add(CKA_LABEL, bytes: Array(label.utf8))
        template.add(CKA_ID, bytes: id)
        var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_AES_KEY_GEN), pParameter: nil, ulParameterLen: 0)
        var handle: CK_OBJECT_HANDLE = 0
        let rv = template.withAttributes { attributes, count in
            module.functions.pointee.C_GenerateKey(session, &mechanism, attributes, count, &handle)
        }
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_GenerateKey", rv) }
        return PKCS11Key(store: self, handle: handle, id: PKCS11Key.id(for: id))
    }

    public func key(label: String) throws(VaultError) -> any KeyEncryptionKey {
        lock.lock()
        defer { lock.unlock() }
        guard let handle = try find(label: label) else {
            throw VaultError(.unavailable, code: .hsmUnavailable, message: "token \(tokenLabel) holds no key labelled \(label)")
        }
        return PKCS11Key(store: self, handle: handle, id: PKCS11Key.id(for: try bytesAttribute(CKA_ID, of: handle)))
    }

    public func destroyKey(label: String) throws(VaultError) {
        lock.lock()
        defer { lock.unlock() }
        guard let handle = try find(label: label) else { return }
        let rv = module.functions.pointee.C_DestroyObject(session, handle)
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_DestroyObject", rv) }
    }

    /// What the token says of the key under `label` (tests and `keys status` check that it
    /// can never leave the token).
    public func attributes(label: String) throws(VaultError) -> (extractable: Bool, sensitive: Bool, neverExtractable: Bool) {
        lock.lock()
        defer { lock.unlock() }
        guard let handle = try find(label: label) else {
            throw VaultError(.unavailable, code: .hsmUnavailable, message: "token \(tokenLabel) holds no key labelled \(label)")
        }
        return (
            try bytesAttribute(CKA_EXTRACTABLE, of: handle) != [0], try bytesAttribute(CKA_SENSITIVE, of: handle) != [0],
            try bytesAttribute(CKA_NEVER_EXTRACTABLE, of: handle) != [0]
        )
    }

    /// What the key under `label` may be used for, as the token reports it.
    public func usage(label: String) throws(VaultError) -> PKCS11KeyUsage {
        lock.lock()
        defer { lock.unlock() }
        guard let handle = try find(label: label) else {
            throw VaultError(.unavailable, code: .hsmUnavailable, message: "token \(tokenLabel) holds no key labelled \(label)")
        }
        let mechanisms = try bytesAttribute(CKA_ALLOWED_MECHANISMS, of: handle).withUnsafeBytes { Array($0.bindMemory(to: CK_ULONG.self)) }
        return PKCS11KeyUsage(
            allowedMechanisms: mechanisms.map { UInt($0) }, sign: try bytesAttribute(CKA_SIGN, of: handle) != [0],
            verify: try bytesAttribute(CKA_VERIFY, of: handle) != [0], derive: try bytesAttribute(CKA_DERIVE, of: handle) != [0],
            modifiable: try bytesAttribute(CKA_MODIFIABLE, of: handle) != [0], copyable: try bytesAttribute(CKA_COPYABLE, of: handle) != [0])
    }

    /// The one secret key under `label`; refuses two (an ambiguous label is a setup error).
    private func find(label: String) throws(VaultError) -> CK_OBJECT_HANDLE? {
        let f = module.functions.pointee
        var template = AttributeTemplate()
        template.add(CKA_CLASS, ulong: CKO_SECRET_KEY)
        template.add(CKA_LABEL, bytes: Array(label.utf8))
        var rv = template.withAttributes { attributes, count in f.C_FindObjectsInit(session, attributes, count) }
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_FindObjectsInit", rv) }
        var found = [CK_OBJECT_HANDLE](repeating: 0, count: 2)
        var count: CK_ULONG = 0
        rv = f.C_FindObjects(session, &found, 2, &count)
        _ = f.C_FindObjectsFinal(session)
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_FindObjects", rv) }
        guard count <= 1 else { throw VaultError(.unavailable, code: .hsmUnavailable, message: "token \(tokenLabel) holds two keys labelled \(label)") }
        return count == 1 ? found[0] : nil
    }

    private func bytesAttribute(_ type: some BinaryInteger, of handle: CK_OBJECT_HANDLE) throws(VaultError) -> [UInt8] {
        let f = module.functions.pointee
        var attribute = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: nil, ulValueLen: 0)
        var rv = f.C_GetAttributeValue(session, handle, &attribute, 1)
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_GetAttributeValue", rv) }
        var value = [UInt8](repeating: 0, count: Int(attribute.ulValueLen))
        rv = value.withUnsafeMutableBytes { buffer in
            attribute.pValue = buffer.baseAddress
            return f.C_GetAttributeValue(session, handle, &attribute, 1)
        }
        guard rv == CKR_OK else { throw PKCS11Module.failure("C_GetAttributeValue", rv) }
        return value
    }

    // MARK: AES-GCM inside the token

    static let ivLength = 12
    static let tagLength = 16

    /// A `CKM_AES_GCM` mechanism over `iv` and `aad` (128-bit tag), valid while `body` runs.
    static func withGCM<R>(iv: inout [UInt8], aad: inout [UInt8], _ body: (inout CK_MECHANISM) -> R) -> R {
        iv.withUnsafeMutableBufferPointer { ivBuffer in
            aad.withUnsafeMutableBufferPointer { aadBuffer in
                var params = CK_GCM_PARAMS(
                    pIv: ivBuffer.baseAddress, ulIvLen: CK_ULONG(ivBuffer.count), ulIvBits: CK_ULONG(ivBuffer.count * 8), pAAD: aadBuffer.baseAddress,
                    ulAADLen: CK_ULONG(aadBuffer.count), ulTagBits: CK_ULONG(tagLength * 8))
                return withUnsafeMutablePointer(to: &params) { paramsPointer in
                    var mechanism = CK_MECHANISM(
                        mechanism: CK_MECHANISM_TYPE(CKM_AES_GCM), pParameter: UnsafeMutableRawPointer(paramsPointer),
                        ulParameterLen: CK_ULONG(MemoryLayout<CK_GCM_PARAMS>.size))
                    return body(&mechanism)
                }
            }
        }
    }

    func encrypt(_ key: CK_OBJECT_HANDLE, _ plaintext: UnsafeRawBufferPointer, associatedData: [UInt8]) throws(VaultError) -> SealedBox {
        lock.lock()
        defer { lock.unlock() }
        let f = module.functions.pointee
        var iv = SecureRandom.bytes(Self.ivLength)
        var aad = associatedData
        var output = [UInt8](repeating: 0, count: plaintext.count + Self.tagLength)
        var outputLength = CK_ULONG(output.count)
        let rv: CK_RV = Self.withGCM(iv: &iv, aad: &aad) { mechanism in
            let rv = f.C_EncryptInit(session, &mechanism, key)
            guard rv == CKR_OK else { return rv }
            return output.withUnsafeMutableBufferPointer { out in
                f.C_Encrypt(
                    session, UnsafeMutablePointer(mutating: plaintext.bindMemory(to: UInt8.self).baseAddress), CK_ULONG(plaintext.count),
                    out.baseAddress, &outputLength)
            }
        }
        guard rv == CKR_OK, Int(outputLength) == plaintext.count + Self.tagLength else { throw PKCS11Module.failure("C_Encrypt", rv) }
        return SealedBox(nonce: iv, ciphertext: Array(output.prefix(Int(outputLength))))
    }

    func decrypt(_ key: CK_OBJECT_HANDLE, _ box: SealedBox, associatedData: [UInt8]) throws(VaultError) -> SecureBytes {
        guard box.nonce.count == Self.ivLength, box.ciphertext.count > Self.tagLength else {
            throw VaultError(.unavailable, code: .keyUnwrapFailed, message: "a stored key does not unwrap under the master key")
        }
        lock.lock()
        defer { lock.unlock() }
        let f = module.functions.pointee
        var iv = box.nonce
        var aad = associatedData
        var ciphertext = box.ciphertext
        var rv: CK_RV = CKR_OK
        var plainLength = CK_ULONG(ciphertext.count)
        // Decrypted straight into guarded memory (sized for the module's own checks).
        let plain = try? SecureBytes(count: ciphertext.count) { out in
            rv = Self.withGCM(iv: &iv, aad: &aad) { mechanism in
                let rv = f.C_DecryptInit(session, &mechanism, key)
                guard rv == CKR_OK else { return rv }
                return ciphertext.withUnsafeMutableBufferPointer { input in
                    f.C_Decrypt(session, input.baseAddress, CK_ULONG(input.count), out.bindMemory(to: UInt8.self).baseAddress, &plainLength)
                }
            }
        }
        guard rv == CKR_OK, let plain, Int(plainLength) == box.ciphertext.count - Self.tagLength,
            let exact = plain.withUnsafeBytes({ try? SecureBytes(copying: $0.prefix(Int(plainLength))) })
        else {
            throw VaultError(.unavailable, code: .keyUnwrapFailed, message: "a stored key does not unwrap under the token key")
        }
        return exact
    }
}
