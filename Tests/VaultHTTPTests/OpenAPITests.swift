import Foundation
import Hummingbird
import Logging
import Testing
import VaultDomain
import VaultTestSupport
@testable import VaultHTTP

@Suite("OpenAPI document")
struct OpenAPITests {
    var document: [String: Any] {
        get throws { try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any]) }
    }

    /// "GET /v1/cards/{token}" for each operation of the document.
    func documented() throws -> Set<String> {
        let paths = try #require(try document["paths"] as? [String: [String: Any]])
        var out: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys { out.insert("\(method.uppercased()) \(path)") }
        }
        return out
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let vault = try await TemporaryVault()
        let (router, _) = buildRouter(VaultServerConfiguration(), runtime: vault.runtime, logger: Logger(label: "test"))
        let routed = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
        let documented = try documented()
        #expect(routed.subtracting(documented).isEmpty, "routes missing from the document: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed: \(documented.subtracting(routed).sorted())")
        #expect(routed.count >= 21)
    }

    @Test func everyV1OperationNamesItsScopeAndErrors() throws {
        let doc = try document
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: [String: Any]]])
        for (path, operations) in paths where path.hasPrefix("/v1/") {
            for (method, operation) in operations {
                let scope = operation["x-scope"] as? String
                #expect(scope.map { Scope.known.map(\.rawValue).contains($0) } == true, "\(method) \(path)")
                #expect(operation["security"] != nil, "\(method) \(path)")
                let responses = try #require(operation["responses"] as? [String: Any])
                for code in ["400", "401", "403"] { #expect(responses[code] != nil, "\(method) \(path) lacks \(code)") }
            }
        }
    }

    @Test func theServerServesIt() async throws {
        let h = try await VaultServerHarness()
        try await h.run { c in
            let r = try await c.send(.get, "/openapi.json")
            #expect(r.status == 200)
            #expect(r.text == OpenAPIDocument.json)
        }
    }
}
