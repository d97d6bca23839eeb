import Foundation
import Hummingbird
import Logging
import Testing
import VaultDomain
import VaultHTTPTestSupport
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

    /// Each request schema's properties are exactly its decoder's keys, and closed schemas say
    /// so (`additionalProperties: false`, as the decoders refuse unknown fields).
    @Test func requestSchemasMatchTheDecoders() throws {
        let schemas = try #require(try (document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        func keys<K: CaseIterable & RawRepresentable>(_: K.Type) -> Set<String> where K.RawValue == String { Set(K.allCases.map(\.rawValue)) }
        let decoders: [String: Set<String>] = [
            "CardCreate": keys(CardsController.CreateRequest.Keys.self),
            "CardUpdate": keys(CardsController.UpdateRequest.Keys.self),
            "IokaCardReference": keys(IokaController.CardReferenceRequest.Keys.self),
            "IokaSenderReference": keys(IokaController.SenderReferenceRequest.Keys.self),
        ]
        for (name, expected) in decoders {
            let schema = try #require(schemas[name], "no schema \(name)")
            let properties = Set((schema["properties"] as? [String: Any] ?? [:]).keys)
            #expect(properties == expected, "\(name): documented \(properties.sorted()), decoded \(expected.sorted())")
            #expect(schema["additionalProperties"] as? Bool == false, "\(name) must be closed")
        }
    }

    /// The `ErrorCode` enum is the error-code registry, code for code.
    @Test func errorCodesAreTheRegistry() throws {
        let schemas = try #require(try (document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        let documented = Set(try #require(schemas["ErrorCode"]?["enum"] as? [String]))
        let registered = Set(VaultError.Code.registry.map(\.code.rawValue))
        #expect(registered.count == VaultError.Code.registry.count, "a code is registered twice")
        #expect(documented.subtracting(registered).isEmpty, "documented, not registered: \(documented.subtracting(registered).sorted())")
        #expect(registered.subtracting(documented).isEmpty, "registered, not documented: \(registered.subtracting(documented).sorted())")
    }

    /// docs/api.md's error table is the registry (`cardvault openapi --error-codes` prints it).
    @Test func theErrorTableInTheDocsIsTheRegistry() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/api.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let begin = try #require(text.range(of: "<!-- error-codes:begin -->\n")), end = try #require(text.range(of: "<!-- error-codes:end -->"))
        let table = String(text[begin.upperBound..<end.lowerBound])
        #expect(
            table == VaultError.Code.markdownTable, "docs/api.md's error table differs from the registry; regenerate it with `cardvault openapi --error-codes`")
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
