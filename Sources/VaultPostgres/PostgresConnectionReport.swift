/// What `PostgresVaultStore.connectionReport()` found about the server it writes to.
public struct PostgresConnectionReport: Sendable, Equatable {
    /// The server's port as it reports it (nil over a Unix socket).
    public var port: Int?
    /// Not in recovery: the server accepts writes.
    public var isPrimary: Bool
    /// The connection runs over TLS.
    public var isEncrypted: Bool
}
