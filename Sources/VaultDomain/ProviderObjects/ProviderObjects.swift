import Foundation
import VaultCrypto

/// The provider objects the vault created for a tenant (an ioka transfer order, a Horizonpay
/// transaction or async job) and the vault cards each was started with. Every legitimate object
/// is created through the vault (it holds the providers' credentials), so an object is the
/// tenant's whose call created it, and a call naming an object its tenant does not own is
/// refused as unknown before any provider is called.
///
/// Rows are found by a keyed hash of (provider, tenant, id), so an edited `tenant` column hands
/// an object to nobody, and carry a keyed MAC over that hash and their content, so the cards a
/// row names cannot be swapped without the vault's keys. A row that fails its MAC is treated as
/// unknown, counted (`IntegrityFailures`) and reported to the caller's audit by the forwarder.
public struct ProviderObjects: Sendable {
    let keys: DerivedKeys

    public init(keys: DerivedKeys) { self.keys = keys }

    /// How a stored row is marked as carrying a MAC (`m1.<mac>.<json>`).
    static let prefix = "m1."

    /// The object `id` of `provider` as `tenant` owns it: the cards it was started with (empty
    /// for an ioka order), or nil when the tenant does not own it (unknown, another tenant's, or
    /// a row that failed its MAC).
    public func owned(_ id: String, provider: String, tenant: Tenant, in tx: any VaultReader) throws -> [String: CardLabel]? {
        let reference = keys.providerObject(provider: provider, tenant: tenant, id)
        guard let stored = try tx.providerObject(provider: provider, reference: reference) else { return nil }
        guard let cards = open(stored, reference: reference) else {
            IntegrityFailures.record(.providerObject)
            return nil
        }
        return cards
    }

    /// Remembers that `tenant` owns object `id`, started with `cards`. Never changes another
    /// tenant's row: the look-up hash differs per tenant.
    public func remember(_ id: String, cards: [String: CardLabel], provider: String, tenant: Tenant, at date: Date, in tx: any VaultTransaction) throws {
        let reference = keys.providerObject(provider: provider, tenant: tenant, id)
        let content = VaultJSON.encode(cards)
        let mac = keys.providerObjectMAC(reference: reference, content: content)
        try tx.saveProviderObject(
            Self.prefix + Hex.encode(mac) + "." + String(decoding: content, as: UTF8.self), provider: provider, reference: reference,
            tenant: tenant, at: date)
    }

    func open(_ stored: String, reference: String) -> [String: CardLabel]? {
        guard stored.hasPrefix(Self.prefix) else { return nil }
        let rest = stored.utf8.dropFirst(Self.prefix.utf8.count)
        guard let dot = rest.firstIndex(of: UInt8(ascii: ".")),
            let mac = Hex.decode(String(decoding: rest[rest.startIndex..<dot], as: UTF8.self))
        else { return nil }
        let content = Array(rest[rest.index(after: dot)...])
        guard KeyedHash.equal(mac, keys.providerObjectMAC(reference: reference, content: content)) else { return nil }
        return try? JSONDecoder().decode([String: CardLabel].self, from: Data(content))
    }
}

extension ProviderObjects {
    /// The key of a processed Horizonpay notification (tenant, transaction, status): a keyed
    /// hash, so a replayed webhook is recognised without its uid being stored.
    public func notificationKey(tenant: Tenant, uid: String, status: String) -> String {
        keys.providerCallReference(provider: "horizonpay.notification", "\(tenant.rawValue)|\(uid)|\(status)")
    }

    /// The answer to a processed notification as stored: a MAC over its key and the answer,
    /// then the answer, so a row swapped between keys (another tenant's answer) is not replayed.
    public func sealNotification(_ answer: [UInt8], key: String) -> [UInt8] {
        Array(Self.prefix.utf8) + keys.providerObjectMAC(reference: key, content: answer) + answer
    }

    /// The stored answer when its MAC holds; nil otherwise (counted), and the notification is
    /// then processed as new.
    public func openNotification(_ stored: [UInt8], key: String) -> [UInt8]? {
        let head = Self.prefix.utf8.count
        guard stored.count >= head + 16, stored.starts(with: Self.prefix.utf8) else { return nil }
        let mac = Array(stored[head..<(head + 16)])
        let answer = Array(stored[(head + 16)...])
        guard KeyedHash.equal(mac, keys.providerObjectMAC(reference: key, content: answer)) else {
            IntegrityFailures.record(.notifications)
            return nil
        }
        return answer
    }
}
