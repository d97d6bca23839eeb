import Foundation

/// What an import remembers of one exporter reference (`card_imports`): the keyed hash of the
/// reference (the tenant inside it), the vault token it was imported as, and a keyed MAC over
/// both, so a re-run (or a run resumed after a crash) creates nothing twice and a database
/// writer cannot point a reference at another card.
public struct CardImportRecord: Sendable, Equatable {
    public var tenant: Tenant
    public var referenceHash: [UInt8]
    public var token: CardToken
    public var mac: [UInt8]
    public var createdAt: Date

    public init(tenant: Tenant, referenceHash: [UInt8], token: CardToken, mac: [UInt8], createdAt: Date) {
        self.tenant = tenant
        self.referenceHash = referenceHash
        self.token = token
        self.mac = mac
        self.createdAt = createdAt
    }
}
