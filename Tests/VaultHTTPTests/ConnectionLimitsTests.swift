import Foundation
import Testing
import VaultDomain
import VaultHTTPTestSupport
import VaultTestSupport
@testable import VaultHTTP

/// One local caller cannot exhaust the server: connections over the cap are closed at once
/// while those already open keep working, a request head trickled byte by byte is cut off at
/// the header deadline, an idle connection at the idle timeout, and a cap the descriptor limit
/// cannot hold is refused at start. Against the real server on 127.0.0.1.
@Suite("Bounded connections", .serialized)
struct ConnectionLimitsTests {
    @Test func connectionsOverTheCapAreRefusedAtOnceAndTheOthersKeepWorking() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite, .cardsRead])
        try await h.run(configure: { $0.connections.maxConnections = 8 }) { c in
            // The test client holds one connection of its own; fill the rest with idle ones.
            #expect(try await c.send(.get, "/healthz").status == 200)
            var idle: [RawConnection] = []
            for _ in 0..<7 { idle.append(try RawConnection(port: c.port)) }
            try await Task.sleep(for: .milliseconds(200))
            let over = try RawConnection(port: c.port)
            over.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let refused = await over.read(for: 2)
            #expect(refused.closed && refused.bytes.isEmpty, "\(String(decoding: refused.bytes, as: UTF8.self))")
            // The connection that was already open still works.
            #expect(try await c.send(.post, "/v1/cards", secret: secret, json: VaultServerHarness.cardJSON("4405639704015096")).status == 201)
            let metrics = try await c.send(.get, "/metrics").text
            #expect(metrics.contains("cardvault_http_open_connections 8"), "\(metrics.split(separator: "\n").filter { $0.contains("connections") })")
            #expect(metrics.contains("cardvault_http_refused_connections_total 1"))
            // Once they close, new connections are taken again.
            idle.removeAll()
            try await Task.sleep(for: .milliseconds(300))
            let again = try RawConnection(port: c.port)
            again.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let answer = await again.read(for: 5)
            #expect(String(decoding: answer.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func aTrickledHeadAndAnIdleConnectionAreCutOff() async throws {
        let h = try await VaultServerHarness()
        try await h.run(configure: {
            $0.connections.headerTimeout = .seconds(1)
            $0.connections.idleTimeout = .seconds(4)
        }) { c in
            // Slowloris: one header line every 200 ms, never the blank line that ends the head.
            let slow = try RawConnection(port: c.port)
            let started = Date()
            slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
            var closedAfter: Double?
            for i in 0..<40 {
                guard slow.send("X-Slow-\(i): 1\r\n") else { break }
                if await slow.read(for: 0.2).closed {
                    closedAfter = Date().timeIntervalSince(started)
                    break
                }
            }
            let cut = try #require(closedAfter, "the trickled head was never cut off")
            #expect(cut >= 0.9 && cut < 2.5, "cut off after \(cut) s")

            // A connection that never sends a byte is closed at the header deadline too.
            let silent = try RawConnection(port: c.port)
            #expect(await silent.read(for: 2.5).closed)

            // Keep-alive: after an answer, an idle connection is closed at the idle timeout.
            let keepAlive = try RawConnection(port: c.port)
            keepAlive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = await keepAlive.read(for: 0.5)
            #expect(String(decoding: first.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200") && !first.closed)
            let rest = await keepAlive.read(for: 6)
            #expect(rest.closed)
        }
    }

    @Test func aCapTheDescriptorLimitCannotHoldIsRefusedAtStart() throws {
        var configuration = VaultServerConfiguration()
        configuration.connections.maxConnections = ConnectionGate.descriptorLimit()
        #expect(throws: VaultError.self) { try connectionGate(configuration) }
        configuration.connections.maxConnections = nil
        let gate = try connectionGate(configuration)
        #expect(gate.limit + ConnectionGate.reservedDescriptors <= ConnectionGate.descriptorLimit())
        #expect(throws: VaultError.self) { try VaultServerConfiguration(environment: ["CARDVAULT_MAX_CONNECTIONS": "0"]) }
        #expect(try VaultServerConfiguration(environment: ["CARDVAULT_HEADER_TIMEOUT_SECONDS": "5"]).connections.headerTimeout == .seconds(5))
    }

    /// Malformed framing (an unknown Transfer-Encoding, a chunk size that overflows) is the
    /// caller's fault: 400 `malformed_request`, and the connection is closed.
    @Test func malformedFramingIs400AndClosesTheConnection() async throws {
        let h = try await VaultServerHarness()
        let secret = try await h.vault.addClient(scopes: [.cardsWrite])
        try await h.run { c in
            for framing in [
                "Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n",
            ] {
                let raw = try RawConnection(port: c.port)
                raw.send("POST /v1/cards HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(secret)\r\nContent-Type: application/json\r\n\(framing)")
                let answer = await raw.read(for: 5)
                let text = String(decoding: answer.bytes, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 400") && text.contains("malformed_request"), "\(text)")
                #expect(answer.closed)
            }
            #expect(try await c.send(.get, "/healthz").status == 200)
        }
    }
}
