import Foundation
import Testing
import VaultCrypto
@testable import VaultDomain

@Suite("Sealed cards and the audit chain")
struct SealedCardTests {
    let v1 = DataKey(version: 1, key: try! .generate())
    let v2 = DataKey(version: 2, key: try! .generate())
    let fingerprintKey = try! SymmetricKey.generate()

    func sealed(_ number: String, key: DataKey) throws -> (SealedCard, CardData) {
        let data = CardData(
            pan: try PrimaryAccountNumber(validating: number), expiry: CardExpiry(month: 7, year: 2031),
            holder: try CardHolder(validating: "IVAN PETROV"))
        let token = CardToken.generate()
        let card = SealedCard(
            token: token, tenant: .default, fingerprint: CardFingerprint(pan: data.pan, key: fingerprintKey), keyVersion: key.version,
            box: SealedCard.seal(data, token: token, tenant: .default, key: key), createdAt: Date(), updatedAt: Date())
        return (card, data)
    }

    @Test func roundTrip() throws {
        let (card, _) = try sealed("4405639704015096", key: v1)
        let opened = try card.open(with: v1, fingerprintKey: fingerprintKey)
        #expect(opened.pan.last4 == "5096")
        #expect(opened.expiry == CardExpiry(month: 7, year: 2031))
        #expect(opened.holder?.name == "IVAN PETROV")
        #expect(opened.pan.withDigits { String(decoding: $0, as: UTF8.self) } == "4405639704015096")
    }

    @Test func ciphertextSwappedBetweenRowsFails() throws {
        let (a, _) = try sealed("4405639704015096", key: v1)
        var (b, _) = try sealed("5522042705066736", key: v1)
        b.box = a.box
        #expect(throws: VaultError.self) { try b.open(with: v1, fingerprintKey: fingerprintKey) }
    }

    /// The fingerprint column is checked against the PAN inside: a row whose fingerprint was
    /// swapped with another card's (by SQL, without keys) is refused, counted and named.
    @Test func swappedFingerprintFails() throws {
        let (a, _) = try sealed("4405639704015096", key: v1)
        var (b, _) = try sealed("5522042705066736", key: v1)
        b.fingerprint = a.fingerprint
        let before = IntegrityFailures.snapshot()[.cards, default: 0]
        let error = #expect(throws: VaultError.self) { try b.open(with: v1, fingerprintKey: fingerprintKey) }
        #expect(error?.code == .cardUnreadable)
        #expect(error?.failedRow == "cards|" + b.token.rawValue)
        #expect(!(error?.description.contains(b.token.rawValue) ?? true))
        #expect(IntegrityFailures.snapshot()[.cards, default: 0] > before)
        // The same card under another tenant's fingerprint key is refused too.
        #expect(throws: VaultError.self) { try a.open(with: v1, fingerprintKey: try! .generate()) }
    }

    @Test func relabelledVersionFails() throws {
        var (card, _) = try sealed("4405639704015096", key: v1)
        card.keyVersion = 2
        // Even with the right key bytes under the new label, the AD no longer matches.
        #expect(throws: VaultError.self) { try card.open(with: DataKey(version: 2, key: v1.key), fingerprintKey: fingerprintKey) }
        #expect(throws: VaultError.self) { try card.open(with: v2, fingerprintKey: fingerprintKey) }
    }

    @Test func flippedByteFails() throws {
        var (card, _) = try sealed("4405639704015096", key: v1)
        card.box.ciphertext[3] ^= 1
        #expect(throws: VaultError.self) { try card.open(with: v1, fingerprintKey: fingerprintKey) }
    }

    @Test func fingerprintDependsOnPanOnly() throws {
        let key = (try! SymmetricKey.generate())
        let pan = try PrimaryAccountNumber(validating: "4405639704015096")
        let same = try PrimaryAccountNumber(validating: "4405 6397 0401 5096")
        let other = try PrimaryAccountNumber(validating: "5522042705066736")
        #expect(CardFingerprint(pan: pan, key: key) == CardFingerprint(pan: same, key: key))
        #expect(CardFingerprint(pan: pan, key: key) != CardFingerprint(pan: other, key: key))
        #expect(CardFingerprint(pan: pan, key: key) != CardFingerprint(pan: pan, key: try! .generate()))
        #expect(CardFingerprint(pan: pan, key: key).rawValue.hasPrefix("fp_"))
    }

    @Test func auditChainDetectsChangeDeletionAndReorder() {
        let chain = AuditChain(key: try! .generate())
        var rows: [AuditEntry] = []
        for i in 0..<5 {
            let event = AuditEvent(
                action: "card.read", subject: "tok_\(i)", outcome: .success,
                actor: AuditActor(client: "svc", requestID: "req_\(i)", source: "127.0.0.1"))
            rows.append(chain.seal(event, after: rows.last, at: Date()))
        }
        #expect(chain.verify(rows, after: nil) == .intact(rows: 5))

        var changed = rows
        changed[2].subject = "tok_other"
        #expect(chain.verify(changed, after: nil) == .broken(seq: 3, reason: "row was changed, or a row before it was changed or removed"))

        var deleted = rows
        deleted.remove(at: 1)
        guard case .broken(let seq, _) = chain.verify(deleted, after: nil) else { Issue.record("deletion not detected"); return }
        #expect(seq == 3)

        var reordered = rows
        reordered.swapAt(1, 2)
        guard case .broken = chain.verify(reordered, after: nil) else { Issue.record("reorder not detected"); return }

        // Recomputing a row's hash without the key is impossible: a forged row with a plain hash fails.
        var forged = rows
        forged[4].hash = Array(repeating: 0, count: 32)
        guard case .broken(let at, _) = chain.verify(forged, after: nil) else { Issue.record("forgery not detected"); return }
        #expect(at == 5)
    }

    @Test func securityCodesExpireAndAreTakenOnce() throws {
        let codes = try SecurityCodeVault(timeToLive: 60)
        let token = CardToken.generate()
        let now = Date()
        let code = try codes.seal("123", brand: .visa)
        codes.put(code, for: token, expiresAt: now.addingTimeInterval(60))
        #expect(codes.expiry(for: token, now: now) != nil)
        let taken = codes.take(for: token, now: now)
        #expect(taken != nil)
        #expect(codes.take(for: token, now: now) == nil)

        let other = try codes.seal("456", brand: .visa)
        codes.put(other, for: token, expiresAt: now.addingTimeInterval(1))
        #expect(codes.sweep(now: now.addingTimeInterval(2)) == 1)
        #expect(other.bytes.isZeroed)
        #expect(codes.expiry(for: token, now: now) == nil)
    }

    /// The pending-code store is one guarded region: when it is full a new code is refused with a
    /// clean error (never a crash), and a released code frees its slot, wiped.
    @Test func securityCodeStoreIsBoundedAndRefusesCleanly() throws {
        let codes = try SecurityCodeVault(timeToLive: 60, capacity: 3)
        let now = Date()
        let tokens = (0..<3).map { _ in CardToken.generate() }
        for token in tokens { codes.put(try codes.seal("123", brand: .visa), for: token, expiresAt: now.addingTimeInterval(60)) }
        #expect(codes.slotsInUse == 3)
        #expect(throws: SecurityCodeVault.capacityReached) { try codes.seal("456", brand: .visa) }
        // A taken code holds its slot until the provider call is done with it.
        var taken = codes.take(for: tokens[0], now: now)
        #expect(taken?.text == "123")
        #expect(codes.slotsInUse == 3)
        taken = nil
        #expect(codes.slotsInUse == 2)
        let fresh = try codes.seal("789", brand: .visa)
        #expect(fresh.text == "789")
        codes.discard(for: tokens[1])
        #expect(codes.slotsInUse == 2)
        _ = taken
    }

    /// Far more codes than one-allocation-per-code could ever hold (each `sodium_malloc` costs
    /// several mappings; the process hit `vm.max_map_count` after ~16,000): 100,000 pending at
    /// once in one region.
    @Test func aHundredThousandPendingCodesFitInOneRegion() throws {
        let codes = try SecurityCodeVault(timeToLive: 60, capacity: 100_000)
        let expiry = Date().addingTimeInterval(60)
        for _ in 0..<100_000 { codes.put(try codes.seal("123", brand: .visa), for: CardToken.generate(), expiresAt: expiry) }
        #expect(codes.count == 100_000)
        #expect(throws: SecurityCodeVault.capacityReached) { try codes.seal("123", brand: .visa) }
        #expect(codes.sweep(now: expiry) == 100_000)
        #expect(codes.slotsInUse == 0)
    }
}
