import ArgumentParser
import Foundation
import VaultDomain

/// `cardvault operator unseal|seal|status`: a running server's seal, over the admin socket.
struct Operator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Unseal, seal and inspect a running server over its admin socket.",
        subcommands: [Unseal.self, Seal.self, Status.self]
    )

    struct Unseal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give the running server one key share (read from standard input, never echoed); at the threshold it unseals.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                let before = try Operator.call(vault, ["op": "status"])
                var share = ""
                let status = before["status"] as? [String: Any] ?? [:]
                if status["seal"] as? String == "shamir", status["sealed"] as? Bool == true {
                    let given = status["progress"] as? Int ?? 0
                    let threshold = status["threshold"] as? Int ?? 0
                    let prompt = "your key share (\(given) of the \(threshold) needed given so far, \(status["shares"] as? Int ?? 0) custodians)"
                    share = try ShareInput.read(count: 1, purpose: "unseal", prompt: prompt).first ?? ""
                }
                let result = try Operator.call(vault, ["op": "unseal", "share": share])
                try Operator.report(result, json: output.json)
            }
        }
    }

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal the running server: every key leaves its memory; /v1 answers 503 sealed until the next unseal.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                try Operator.report(try Operator.call(vault, ["op": "seal"]), json: output.json)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show whether the running server is sealed, its seal and the unseal progress.")
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Output.run(json: output.json) {
                try Operator.report(try Operator.call(vault, ["op": "status"]), json: output.json)
            }
        }
    }

    /// One request to the server; a refusal becomes the vault error it names.
    static func call(_ vault: VaultOptions, _ request: [String: Any]) throws(VaultError) -> [String: Any] {
        guard var client = try AdminClient.connect(vault) else { throw AdminClient.unavailable(at: vault.adminSocketPath) }
        defer { client.close() }
        var request = request
        if let sudo = ProcessInfo.processInfo.environment["SUDO_UID"], let uid = Int(sudo) { request["sudo_uid"] = uid }
        let result = try client.exchange(request)
        if let error = result["error"] as? [String: Any] {
            throw VaultError.remote(
                code: error["code"] as? String ?? "internal_error", message: error["message"] as? String ?? "the server refused",
                field: error["field"] as? String)
        }
        return result
    }

    static func report(_ result: [String: Any], json: Bool) throws {
        let status = result["status"] as? [String: Any] ?? [:]
        if json {
            let data = try JSONSerialization.data(withJSONObject: status, options: [.sortedKeys, .prettyPrinted])
            Output.line(String(decoding: data, as: UTF8.self))
            return
        }
        let sealed = status["sealed"] as? Bool ?? true
        let seal = status["seal"] as? String ?? "?"
        Output.line("seal: \(seal)")
        Output.line("sealed: \(sealed ? "yes" : "no")")
        if seal == "shamir" {
            Output.line("threshold: \(status["threshold"] as? Int ?? 0) of \(status["shares"] as? Int ?? 0) shares")
            if sealed { Output.line("unseal progress: \(status["progress"] as? Int ?? 0) of \(status["threshold"] as? Int ?? 0)") }
        }
        if let id = status["master_key_id"] as? String { Output.line("master key: \(id)") }
    }
}

extension VaultError {
    /// A refusal the server sent over the admin socket, with its registered code.
    static func remote(code: String, message: String, field: String?) -> VaultError {
        VaultError(.unavailable, code: VaultError.Code.known(code) ?? .internalError, message: message, field: field)
    }
}
