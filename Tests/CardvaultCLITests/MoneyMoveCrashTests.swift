import Foundation
import Testing
import VaultTestSupport

/// A transfer whose answer never came back because the vault was killed (kill -9) after
/// sending it: after a restart, a retry with the same `Idempotency-Key` is answered 409
/// `outcome_unknown` naming its tracking_id, and Horizonpay is never called twice.
@Suite("Money moves across a crash", .serialized)
struct MoneyMoveCrashTests {
    @Test func aTransferLostInACrashIsNeverSentAgain() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let secret = try cli.initialiseWithClient(scopes: "cards:write,cards:read,horizonpay:forward")
        // The simulator holds every card request for 20 s, like a provider that is slow to answer.
        let (simulator, simPort, environment) = try await cli.startHorizonpaySimulator(["--latency-ms", "20000"])
        defer { kill(simulator.processIdentifier, SIGKILL) }
        let port = CLIRunner.freePort()
        var vault = try await cli.startServer(port: port, environment: environment)
        defer { kill(vault.processIdentifier, SIGKILL) }

        let auth = ["Authorization": "Bearer \(secret)"]
        let source = try HTTP.request(
            port: port, "POST /v1/cards", headers: auth,
            body: #"{"number":"4012001037141112","exp_month":12,"exp_year":"2031","holder":"IVAN PETROV","verification_value":"123"}"#)
        let recipient = try HTTP.request(
            port: port, "POST /v1/cards", headers: auth, body: #"{"number":"4200000000000000","exp_month":12,"exp_year":"2031","holder":"MARY DOE"}"#)
        let from = try #require(source.json["token"] as? String), to = try #require(recipient.json["token"] as? String)
        let transfer =
            #"{"request":{"amount":100,"currency":"KZT","description":"P2P","tracking_id":"trk-crash-1","test":true,"credit_card":{"token":"\#(from)"},"recipient_card":{"token":"\#(to)"}}}"#
        let headers = auth.merging(["Idempotency-Key": "pay-once"]) { a, _ in a }

        // Send the transfer; once the simulator holds it, kill the vault.
        let inFlight = Thread { _ = try? HTTP.request(port: port, "POST /v1/horizonpay/p2ps", headers: headers, body: transfer) }
        inFlight.start()
        var received = 0
        for _ in 0..<100 where received == 0 {
            try await Task.sleep(for: .milliseconds(100))
            received = (try? HTTP.request(port: simPort, "GET /__simulator/calls").json["/transactions/p2ps"] as? Int) ?? 0
        }
        #expect(received == 1, "the transfer never reached the simulator; the test proved nothing")
        kill(vault.processIdentifier, SIGKILL)
        vault.waitUntilExit()
        #expect(vault.terminationReason == .uncaughtSignal)

        vault = try await cli.startServer(port: port, environment: environment)
        // The security code did not survive the crash (it never reaches the disk): give a new one.
        #expect(try HTTP.request(port: port, "PATCH /v1/cards/\(from)", headers: auth, body: #"{"verification_value":"123"}"#).status == 200)
        for _ in 0..<2 {
            let retry = try HTTP.request(port: port, "POST /v1/horizonpay/p2ps", headers: headers, body: transfer)
            #expect(retry.status == 409, "\(retry.text)")
            let error = retry.json["error"] as? [String: Any]
            #expect(error?["code"] as? String == "outcome_unknown")
            #expect((error?["reference"] as? [String: String])?["tracking_id"] == "trk-crash-1")
        }
        #expect((try HTTP.request(port: simPort, "GET /__simulator/calls").json["/transactions/p2ps"] as? Int) == 1)
        // The refused retries did not spend the new code: a new key may transfer with it.
        let fresh = try HTTP.request(
            port: port, "POST /v1/horizonpay/p2ps", headers: auth.merging(["Idempotency-Key": "pay-twice-on-purpose"]) { a, _ in a },
            body: transfer.replacingOccurrences(of: "trk-crash-1", with: "trk-crash-2"), timeout: 30)
        #expect(fresh.status == 200, "\(fresh.text)")
        kill(vault.processIdentifier, SIGTERM)
        vault.waitUntilExit()
    }
}

/// A blocking HTTP/1.1 client over a TCP socket to 127.0.0.1 (`Connection: close`, read to EOF),
/// so the subprocess tests need no HTTP client library.
enum HTTP {
    struct Reply {
        let status: Int
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    }

    struct Failed: Error {}

    static func request(port: Int, _ line: String, headers: [String: String] = [:], body: String? = nil, timeout: Int = 5) throws -> Reply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed() }
        defer { close(fd) }
        var wait = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failed() }
        var text = "\(line) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)" } else { text += "\r\n" }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw Failed() }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        guard answer.count > 12, let status = Int(String(decoding: answer[9..<12], as: UTF8.self)) else { throw Failed() }
        let split = answer.firstRange(of: Array("\r\n\r\n".utf8)).map { $0.upperBound } ?? answer.count
        return Reply(status: status, body: Array(answer[split...]))
    }
}
