import ArgumentParser
import VaultHTTP

/// `cardvault openapi`: prints the OpenAPI 3.1 document the server serves at `/openapi.json`.
struct OpenAPI: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "openapi", abstract: "Print the API's OpenAPI 3.1 document (JSON).")

    func run() {
        print(OpenAPIDocument.json)
    }
}
