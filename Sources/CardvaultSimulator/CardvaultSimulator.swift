import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ProviderSimulators
import VaultHTTP

/// `cardvault-simulator horizonpay|ioka`: local stand-ins for the providers, for development,
/// tests and benchmarks. A separate executable: the audited `cardvault` binary holds no test
/// stand-ins.
@main
struct CardvaultSimulator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cardvault-simulator",
        abstract: "Run a local provider simulator that follows the providers' documented JSON.",
        subcommands: [Horizonpay.self, Ioka.self]
    )

    struct Horizonpay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Horizonpay P2P API (gateway and checkout on one port).")
        @Option(help: "host:port to listen on (loopback only).") var listen = "127.0.0.1:8790"
        @Option(name: .customLong("shop-id")) var shopID = "29"
        @Option(name: .customLong("secret-key")) var secretKey = "sim-secret-key"
        @Option(name: .customLong("public-key")) var publicKey = "sim-public-key"
        @Option(name: .customLong("latency-ms"), help: "Milliseconds each card request takes to answer, like a real provider (default 0).")
        var latencyMS = 0
        @Flag(name: .customLong("any-address"), help: "Listen on a non-loopback address too (the HA lab's bridge).")
        var anyAddress = false

        func run() async throws {
            guard (0...60_000).contains(latencyMS) else { throw ValidationError("--latency-ms must be 0 to 60000") }
            let simulator = HorizonpaySimulator(shopID: shopID, secretKey: secretKey, publicKey: publicKey, latency: .milliseconds(latencyMS))
            try await CardvaultSimulator.serve(
                simulator.router(), listen: listen, name: "horizonpay-simulator", banner: "horizonpay simulator (shop \(shopID))",
                anyAddress: anyAddress)
        }
    }

    struct Ioka: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "ioka card-to-card transfers API (transfer orders, topup, checkout hook).")
        @Option(help: "host:port to listen on (loopback only).") var listen = "127.0.0.1:8791"
        @Option(name: .customLong("api-key")) var apiKey = "sim-ioka-api-key"

        func run() async throws {
            let simulator = IokaSimulator(apiKey: apiKey)
            try await CardvaultSimulator.serve(simulator.router(), listen: listen, name: "ioka-simulator", banner: "ioka simulator")
        }
    }

    static func serve(
        _ router: Router<BasicRequestContext>, listen: String, name: String, banner: String, anyAddress: Bool = false
    ) async throws {
        let address = try ListenAddress(parsing: listen)
        guard address.isLoopback || anyAddress else { throw ValidationError("the simulator listens on loopback only (--any-address for a lab)") }
        let app = Application(
            router: router, configuration: .init(address: .hostname(address.host, port: address.port), serverName: name),
            logger: Logger(label: name))
        FileHandle.standardError.write(Data("\(banner) on http://\(address)\n".utf8))
        try await app.runService()
    }
}
