import ArgumentParser
import Foundation
import VaultDomain
import VaultHSM

/// `--seal` (init) / `--to` (migrate-seal) and the settings of each seal.
struct SealOptions: ParsableArguments {
    @Option(name: [.customLong("seal"), .customLong("to")], help: "file (development), shamir or pkcs11.")
    var seal: String?
    @Option(help: "shamir: shares to make (2 to 10).") var shares: Int?
    @Option(help: "shamir: shares needed to unseal (2 to --shares).") var threshold: Int?
    @Option(help: "shamir: who holds share 1, 2, ... (repeat; named in the audit when a share is used).") var custodian: [String] = []
    @Option(name: .customLong("share-file"), help: "shamir: write share i to this file, mode 0600 (repeat once per share; default: print them once).")
    var shareFile: [String] = []
    @Option(name: .customLong("key-label"), help: "pkcs11: the token key's label (env CARDVAULT_PKCS11_KEY_LABEL, default cardvault-master).")
    var keyLabel: String?

    func request(default fallback: SealRequest) throws(VaultError) -> SealRequest {
        guard let seal else { return fallback }
        switch seal {
        case "file":
            return .file
        case "shamir":
            guard let shares, let threshold else {
                throw VaultError.invalid("shares", code: .sealInvalid, "the shamir seal needs --shares N and --threshold K (2 ≤ K ≤ N ≤ 10)")
            }
            let request = SealRequest.shamir(shares: shares, threshold: threshold, custodians: custodian)
            try request.validate()
            return request
        case "pkcs11":
            let settings = try PKCS11Settings(environment: ProcessInfo.processInfo.environment)
            guard settings != nil else {
                throw VaultError.invalid(
                    "CARDVAULT_PKCS11_MODULE", code: .sealInvalid,
                    "the pkcs11 seal needs CARDVAULT_PKCS11_MODULE, CARDVAULT_PKCS11_TOKEN and CARDVAULT_PKCS11_PIN_FILE")
            }
            return .pkcs11(keyLabel: keyLabel ?? settings?.keyLabel ?? PKCS11Settings.defaultKeyLabel)
        default:
            throw VaultError.invalid("seal", code: .sealInvalid, "the seal is file, shamir or pkcs11")
        }
    }

    /// One line for people: `shamir (3 of 5, set 1a2b...)`.
    static func describe(_ seal: SealDescriptor) -> String {
        switch seal.kind {
        case .file: "file"
        case .shamir:
            "shamir (\(seal.threshold ?? 0) of \(seal.shares ?? 0), share set \(seal.shareSet ?? "")"
                + (seal.sharePublicKey == nil ? ", unsigned shares: run keys rekey)" : ")")
        case .pkcs11: "pkcs11 (key \(seal.keyLabel ?? ""))"
        }
    }
}
