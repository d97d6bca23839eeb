import VaultDomain
import VaultStorage

/// What the admin socket hands to the `cardvault` executable to run an admin command inside
/// the server (the commands live there; the server only transports them).
public struct AdminInvocation: Sendable {
    /// The command line after `cardvault`, as the operator typed it.
    public let arguments: [String]
    /// Shares given for dual control (shamir), in the order given.
    public let custody: [String]
    /// The operator, from the socket's peer credentials.
    public let actor: AuditActor
    /// The server's own runtime: its unsealed key ring, its database.
    public let runtime: VaultRuntime
    /// Hands a new share set to the operator's terminal and waits for the acknowledgement.
    public let handOver: KeyAdministration.ShareHandOver
}

/// The result printed by the operator's `cardvault` process.
public struct AdminCommandResult: Sendable {
    public var exitCode: Int32
    public var standardOutput: String
    public var standardError: String

    public init(exitCode: Int32, standardOutput: String, standardError: String) {
        self.exitCode = exitCode
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}

public typealias AdminCommandRunner = @Sendable (AdminInvocation) async -> AdminCommandResult
