/// One tenant as `cardvault tenants list` shows it: how many clients belong to it, and how many
/// of them can still call (not revoked, row intact).
public struct TenantSummary: Sendable, Equatable, Encodable {
    public let tenant: Tenant
    public private(set) var clients: Int
    public private(set) var activeClients: Int

    public init(tenant: Tenant, clients: Int, activeClients: Int) {
        self.tenant = tenant
        self.clients = clients
        self.activeClients = activeClients
    }

    mutating func add(_ client: Client) {
        clients += 1
        if client.isActive && !client.failedIntegrityCheck { activeClients += 1 }
    }

    enum CodingKeys: String, CodingKey {
        case tenant, clients
        case activeClients = "active_clients"
    }
}
