import Foundation
import Testing
import VaultTestSupport

/// Card data from a request lives in buffers that are wiped when the request ends: after cards
/// were tokenized, read, given a security code and sent to Horizonpay inside a transfer, the
/// running `cardvault serve` process's memory (every readable mapping, read through
/// /proc/PID/mem) holds no copy of the card numbers, in ASCII or as digit values.
@Suite("Memory hygiene", .serialized)
struct MemoryHygieneTests {
    @Test func noCardNumberStaysInTheServersMemory() async throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let secret = try cli.initialiseWithClient(scopes: "cards:write,cards:read,horizonpay:forward")
        let (simulator, simPort, settings) = try await cli.startHorizonpaySimulator()
        defer { kill(simulator.processIdentifier, SIGKILL) }
        let port = CLIRunner.freePort()
        // A value the vault keeps for its whole life: the scan must find it (a scan that finds
        // nothing because it reads nothing proves nothing).
        let marker = "memory-scan-marker-\(UUID().uuidString)"
        let vault = try await cli.startServer(port: port, environment: settings.merging(["CARDVAULT_MEMORY_SCAN_MARKER": marker]) { a, _ in a })
        defer { kill(vault.processIdentifier, SIGKILL) }

        let auth = ["Authorization": "Bearer \(secret)"]
        let (sourcePAN, recipientPAN) = (SentinelCards.pans[0], SentinelCards.pans[1])
        var tokens: [String] = []
        for (pan, code) in [(sourcePAN, SentinelCards.codes[0]), (recipientPAN, nil)] {
            let body = #"{"number":"\#(pan)","exp_month":12,"exp_year":"2031","holder":"IVAN PETROV"\#(code.map { #","verification_value":"\#($0)""# } ?? "")}"#
            let created = try HTTP.request(port: port, "POST /v1/cards", headers: auth, body: body)
            #expect(created.status == 201, "\(created.text)")
            tokens.append(try #require(created.json["token"] as? String))
        }
        // The same number again (dedup reads it back), a metadata read, a new code.
        #expect(
            try HTTP.request(port: port, "POST /v1/cards", headers: auth, body: #"{"number":"\#(recipientPAN)","exp_month":12,"exp_year":"2031"}"#).status
                == 200)
        #expect(try HTTP.request(port: port, "GET /v1/cards/\(tokens[0])", headers: auth).status == 200)
        // A transfer: both numbers and the code go into the body sent to the simulator.
        let transfer =
            #"{"request":{"amount":100,"currency":"KZT","description":"P2P","tracking_id":"trk-mem-1","test":true,"credit_card":{"token":"\#(tokens[0])"},"recipient_card":{"token":"\#(tokens[1])"}}}"#
        let sent = try HTTP.request(port: port, "POST /v1/horizonpay/p2ps", headers: auth.merging(["Idempotency-Key": "mem-1"]) { a, _ in a }, body: transfer)
        #expect(sent.status == 200, "\(sent.text)")
        #expect((try HTTP.request(port: simPort, "GET /__simulator/calls").json["/transactions/p2ps"] as? Int) == 1)
        // Let the connections close and their buffers go.
        try await Task.sleep(for: .milliseconds(500))

        let memory = try ProcessMemory(pid: vault.processIdentifier)
        // Results are computed apart from #expect, which would print the whole memory on failure.
        let bytesRead = memory.bytesRead
        #expect(bytesRead > 1 << 20, "read only \(bytesRead) bytes")
        let markerFound = memory.contains(Array(marker.utf8))
        #expect(markerFound, "the scan did not find the marker: it reads nothing")
        for pan in [sourcePAN, recipientPAN] {
            let ascii = memory.contains(Array(pan.utf8)), values = memory.contains(pan.utf8.map { $0 - 0x30 })
            #expect(!ascii, "the card number \(pan.prefix(6))… is still in the server's memory (ASCII)")
            #expect(!values, "the card number \(pan.prefix(6))… is still in the server's memory (digit values)")
        }
        // The security code as the request and the provider body carried it.
        let code = memory.contains(Array(#""verification_value":"\#(SentinelCards.codes[0])""#.utf8))
        #expect(!code, "the security code is still in the server's memory, as JSON")
    }
}

/// Every writable mapping of a process (heap, anonymous memory, stacks: where request data can
/// be), read through /proc/PID/mem in 1 MiB chunks; unreadable chunks (guard pages) are skipped.
struct ProcessMemory {
    private(set) var regions: [[UInt8]] = []
    var bytesRead: Int { regions.reduce(0) { $0 + $1.count } }

    init(pid: Int32) throws {
        // Read to the end: /proc files report size 0, and a reader that trusts the size stops early.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/maps"))
        let maps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        try handle.close()
        let fd = open("/proc/\(pid)/mem", O_RDONLY)
        guard fd >= 0 else { throw POSIXError(.EACCES) }
        defer { close(fd) }
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("rw") else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            guard bounds.count == 2, bounds[1] > bounds[0] else { continue }
            var region: [UInt8] = []
            var at = bounds[0]
            while at < bounds[1] {
                let length = Int(min(UInt64(chunk), bounds[1] - at))
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(at)) }
                if n > 0 {
                    region += buffer[0..<n]
                } else if !region.isEmpty {
                    regions.append(region)
                    region = []
                }
                at += UInt64(length)
            }
            if !region.isEmpty { regions.append(region) }
        }
    }

    func contains(_ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        for region in regions where region.count >= needle.count {
            let found = region.withUnsafeBytes { raw -> Bool in
                let base = raw.bindMemory(to: UInt8.self)
                var i = 0
                let last = base.count - needle.count
                while i <= last {
                    guard let hit = memchr(base.baseAddress! + i, Int32(first), last - i + 1) else { return false }
                    i = base.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if UnsafeBufferPointer(rebasing: base[i..<(i + needle.count)]).elementsEqual(needle) { return true }
                    i += 1
                }
                return false
            }
            if found { return true }
        }
        return false
    }
}
