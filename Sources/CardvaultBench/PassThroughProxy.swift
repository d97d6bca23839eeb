import ArgumentParser
import Foundation
import Hummingbird
import Logging
import VaultHTTP
import VaultProviders

/// The floor under any forwarding service built on this stack: a Hummingbird server that
/// passes a Horizonpay request body through the vault's own provider client (the same
/// `ProviderHTTPClient`, connection pool and timeouts) and answers with the provider's status
/// and body. No tokens, no database, no audit, no redaction: the difference between this and
/// cardvault is the vault's own work, and the difference between this and the simulator is the
/// cost of one more HTTP hop on this machine.
struct PassThroughProxy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Pass POST bodies through to an upstream URL with the vault's provider client (benchmark baseline).")

    @Option(help: "host:port to listen on.") var listen = "127.0.0.1:18799"
    @Option(help: "Base URL the bodies go to, e.g. http://127.0.0.1:18798.") var upstream: String
    @Option(help: "Authorization header sent upstream.") var authorization: String

    func run() async throws {
        let address: ListenAddress
        do { address = try ListenAddress(parsing: listen) } catch { throw ValidationError(error.message) }
        guard address.isLoopback, address.unixPath == nil else { throw ValidationError("--listen must be a loopback host:port") }
        // The vault's own rule for where card data may go: https, or http to a loopback host.
        let upstream: ProviderURL
        do { upstream = try ProviderURL(validating: self.upstream, setting: "--upstream") } catch { throw ValidationError(error.message) }
        let client = ProviderHTTPClient()
        let router = Router()
        let headers = [("Accept", "application/json"), ("Authorization", authorization)]
        router.post("{path}") { request, context -> Response in
            let path = try context.parameters.require("path")
            let body = try await request.body.collect(upTo: 1 << 20)
            let reply: ProviderHTTPClient.Reply
            do {
                reply = try await client.send(
                    .POST, url: upstream.appending("/" + path), headers: headers, body: Array(body.readableBytesView), timeout: .seconds(30))
            } catch {
                return Response(status: .badGateway)
            }
            return Response(
                status: .init(code: reply.status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(address.host, port: address.port), serverName: "passthrough"),
            logger: Logger(label: "passthrough"))
        try await app.runService()
        await client.shutdown()
    }
}
