import ArgumentParser
import VaultDomain
import VaultHTTP

/// `cardvault openapi`: prints the OpenAPI 3.1 document the server serves at `/openapi.json`,
/// or with `--error-codes` the error-code table of docs/api.md.
struct OpenAPI: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "openapi", abstract: "Print the API's OpenAPI 3.1 document (JSON).")

    @Flag(help: "Print the error-code registry as docs/api.md's Markdown table instead.")
    var errorCodes = false

    func run() {
        print(errorCodes ? VaultError.Code.markdownTable : OpenAPIDocument.json, terminator: errorCodes ? "" : "\n")
    }
}
