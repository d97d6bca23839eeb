import CPKCS11
import Foundation
import VaultCrypto
import VaultDomain

/// A PKCS#11 module loaded with `dlopen` and initialised once per process (Cryptoki allows one
/// `C_Initialize` per module and process). Calls are serialised by the callers' session lock.
final class PKCS11Module: @unchecked Sendable {
    let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
    private let handle: UnsafeMutableRawPointer

    private static let loaded = NSLock()
    nonisolated(unsafe) private static var modules: [String: PKCS11Module] = [:]

    /// The module at `path`, loaded and initialised on first use.
    static func load(_ path: String) throws(VaultError) -> PKCS11Module {
        loaded.lock()
        defer { loaded.unlock() }
        if let module = modules[path] { return module }
        let module = try PKCS11Module(path: path)
        modules[path] = module
        return module
    }

    private init(path: String) throws(VaultError) {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw VaultError(.unavailable, code: .hsmUnavailable, message: "cannot load the PKCS#11 module \(path)")
        }
        guard let symbol = dlsym(handle, "C_GetFunctionList") else {
            dlclose(handle)
            throw VaultError(.unavailable, code: .hsmUnavailable, message: "\(path) is not a PKCS#11 module (no C_GetFunctionList)")
        }
        typealias GetFunctionList = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV
        let getFunctionList = unsafeBitCast(symbol, to: GetFunctionList.self)
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        guard getFunctionList(&list) == CKR_OK, let list else {
            dlclose(handle)
            throw VaultError(.unavailable, code: .hsmUnavailable, message: "the PKCS#11 module \(path) gave no function list")
        }
        // The module makes its own threads safe with the operating system's locks.
        var args = CK_C_INITIALIZE_ARGS()
        args.flags = CK_FLAGS(CKF_OS_LOCKING_OK)
        let rv = withUnsafeMutablePointer(to: &args) { list.pointee.C_Initialize($0) }
        guard rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED else {
            dlclose(handle)
            throw PKCS11Module.failure("C_Initialize", rv)
        }
        self.handle = handle
        self.functions = list
    }

    /// A failure of the token, named by the function and its CKR_ code (never key material).
    static func failure(_ function: String, _ rv: CK_RV) -> VaultError {
        VaultError(.unavailable, code: .hsmUnavailable, message: "PKCS#11 \(function) failed (CKR 0x\(String(rv, radix: 16)))")
    }
}
