import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ProviderSimulators
import VaultHTTP

/// `cardvault simulate ...`: local stand-ins for the providers, for development and tests.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local provider simulator that follows the providers' documented JSON.",
        subcommands: [Horizonpay.self]
    )

    struct Horizonpay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Horizonpay P2P API (gateway and checkout on one port).")
        @Option(help: "host:port to listen on (loopback only).") var listen = "127.0.0.1:8790"
        @Option(name: .customLong("shop-id")) var shopID = "29"
        @Option(name: .customLong("secret-key")) var secretKey = "sim-secret-key"
        @Option(name: .customLong("public-key")) var publicKey = "sim-public-key"

        func run() async throws {
            let address = try ListenAddress(parsing: listen)
            guard address.isLoopback else { throw ValidationError("the simulator listens on loopback only") }
            let simulator = HorizonpaySimulator(shopID: shopID, secretKey: secretKey, publicKey: publicKey)
            let app = Application(router: simulator.router(), configuration: .init(address: .hostname(address.host, port: address.port), serverName: "horizonpay-simulator"),
                                  logger: Logger(label: "horizonpay-simulator"))
            FileHandle.standardError.write(Data("horizonpay simulator on http://\(address) (shop \(shopID))\n".utf8))
            try await app.runService()
        }
    }
}
