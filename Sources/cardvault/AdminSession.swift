import ArgumentParser
import Foundation
import Synchronization
import VaultDomain
import VaultHTTP
import VaultStorage

/// An admin command running inside the server for an operator on the admin socket: the
/// server's runtime, the operator from the socket's credentials, the shares sent for dual
/// control, and buffers for what the command prints (sent back to the operator's terminal).
final class AdminSession: Sendable {
    @TaskLocal static var current: AdminSession?

    let runtime: VaultRuntime
    let actor: AuditActor
    let custody: [String]
    let handOver: KeyAdministration.ShareHandOver
    private let out = Mutex("")
    private let err = Mutex("")

    init(_ invocation: AdminInvocation) {
        runtime = invocation.runtime
        actor = invocation.actor
        custody = invocation.custody
        handOver = invocation.handOver
    }

    func write(_ text: String, error: Bool) {
        if error { err.withLock { $0 += text } } else { out.withLock { $0 += text } }
    }

    var standardOutput: String { out.withLock { $0 } }
    var standardError: String { err.withLock { $0 } }

    /// Runs `cardvault ARGS` in this process for an operator on the admin socket. Only the
    /// commands marked `RemoteAdminCommand` run here (not init, restore, serve, operator).
    static let runner: AdminCommandRunner = { invocation in
        let session = AdminSession(invocation)
        let code: Int32 = await AdminSession.$current.withValue(session) {
            do {
                var command = try Cardvault.parseAsRoot(invocation.arguments)
                guard command is RemoteAdminCommand else {
                    session.write("error: `cardvault \(invocation.arguments.first ?? "")` does not run over the admin socket\n", error: true)
                    return 2
                }
                if var asyncCommand = command as? AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
                return 0
            } catch {
                let message = Cardvault.fullMessage(for: error)
                if !message.isEmpty { session.write(message + "\n", error: Cardvault.exitCode(for: error) != .success) }
                return Cardvault.exitCode(for: error).rawValue
            }
        }
        return AdminCommandResult(exitCode: code, standardOutput: session.standardOutput, standardError: session.standardError)
    }
}

/// Admin commands that may run inside the server over the admin socket (they need keys a
/// shamir or pkcs11 vault holds only there).
protocol RemoteAdminCommand {
    var vault: VaultOptions { get }
}

/// Commands under dual control with the shamir seal: they take the threshold of shares on
/// standard input, in the same operation.
protocol DualControlCommand: RemoteAdminCommand {}

/// Commands that make a new share set and may write it to custodians' files.
protocol HandsOverShares {
    var shareFiles: [String] { get }
}
