import Foundation
import VaultCrypto

/// A client-supplied `Idempotency-Key`: 1 to 255 visible ASCII characters.
public struct IdempotencyKey: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(validating text: String) throws(VaultError) {
        guard (1...255).contains(text.utf8.count), text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .malformed("Idempotency-Key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
        }
        rawValue = text
    }

    private init(blinded: String) { rawValue = blinded }

    /// The form that is stored: `ik_` and a keyed hash of the caller's key, so a caller who
    /// (wrongly) uses a card number or any other secret as its key leaves nothing readable in
    /// the database.
    public func blinded(with key: SymmetricKey) -> IdempotencyKey {
        IdempotencyKey(blinded: "ik_" + Base64URL.encode(KeyedHash.hash(Array(rawValue.utf8), key: key, length: 24)))
    }

    public var description: String { "<idempotency key>" }
}

/// The first answer to an idempotent request, replayed on a retry with the same key and body.
/// `requestHash` is a keyed hash of the request (never its plain content); `body` is the JSON
/// that was answered, which never holds card data.
public struct StoredResponse: Sendable, Equatable {
    public var requestHash: [UInt8]
    public var status: Int
    public var body: [UInt8]
    public var createdAt: Date
    /// The keyed MAC binding the record to its client and key (`sealed`); storage keeps it.
    public var mac: [UInt8]?

    public init(requestHash: [UInt8], status: Int, body: [UInt8], createdAt: Date, mac: [UInt8]? = nil) {
        self.requestHash = requestHash
        self.status = status
        self.body = body
        self.createdAt = createdAt
        self.mac = mac
    }

    /// The MAC over everything the record answers with, and the (client, blinded key) it is
    /// stored under, so a record moved to another key or client, or a changed answer, fails.
    static func mac(_ r: StoredResponse, client: String, key: IdempotencyKey, macKey: SymmetricKey) -> [UInt8] {
        var message = Array("cardvault.idempotency_record.v1|\(client)|\(key.rawValue)|\(r.status)|\(StoredDate.millis(r.createdAt))|".utf8)
        message += r.requestHash + [0x7C] + r.body
        return KeyedHash.hash(message, key: macKey, length: 32)
    }

    /// This record with its MAC, ready to store under (client, key).
    public func sealed(client: String, key: IdempotencyKey, macKey: SymmetricKey) -> StoredResponse {
        var sealed = self
        sealed.mac = Self.mac(self, client: client, key: key, macKey: macKey)
        return sealed
    }

    /// This record if its MAC checks for (client, key); otherwise counted and refused, naming
    /// the row. A record without a MAC (written before records carried one) is refused too:
    /// failing closed is what keeps a money move from being sent twice.
    public func verified(client: String, key: IdempotencyKey, macKey: SymmetricKey) throws(VaultError) -> StoredResponse {
        guard let mac, KeyedHash.equal(mac, Self.mac(self, client: client, key: key, macKey: macKey)) else {
            IntegrityFailures.record(.idempotency)
            throw VaultError.integrityFailure.naming(row: .idempotency, client + "|" + key.rawValue)
        }
        return self
    }

    /// The keyed hash that identifies a request's content for idempotency.
    public static func requestHash(operation: IdempotentOperation, canonical: [UInt8], key: SymmetricKey) -> [UInt8] {
        var message = Array(operation.hashLabel.utf8)
        message.append(0)
        message.append(contentsOf: canonical)
        defer { wipe(&message) }
        return KeyedHash.hash(message, key: key, length: 32)
    }

    /// The one replay guard: this stored answer when `requestHash` is the request it answered,
    /// `idempotency_conflict` when the key was used for another request.
    public func replaying(_ requestHash: [UInt8]) throws(VaultError) -> StoredResponse {
        guard KeyedHash.equal(self.requestHash, requestHash) else { throw Self.conflict }
        return self
    }

    /// A claim taken before a provider call; replaced by the answer when it arrives.
    public var isPending: Bool { status == 0 }

    /// The status of a recorded failure: no HTTP status (the HTTP layer renders the error), a
    /// marker beside the pending claim's 0.
    static let failureStatus = 1

    /// A provider call that failed after its request may have been sent: a retry gets the
    /// same error (`code`), rendered again by whoever renders errors, and is not sent again.
    public static func failure(requestHash: [UInt8], code: VaultError.Code, at date: Date) -> StoredResponse {
        StoredResponse(requestHash: requestHash, status: failureStatus, body: VaultJSON.encode(["failure": code.rawValue]), createdAt: date)
    }

    /// The error a recorded failure answers with; nil for any other record.
    public var recordedFailure: VaultError.Code? {
        guard status == Self.failureStatus, let fields = VaultJSON.decode([String: String].self, from: body), let code = fields["failure"] else {
            return nil
        }
        return VaultError.Code.known(code)
    }

    /// A claim; `reference` is what the provider can be asked about the call (its
    /// `tracking_id`, an order id), kept so that a retry whose outcome is unknown can name it.
    public static func pending(requestHash: [UInt8], at date: Date, reference: [String: String] = [:]) -> StoredResponse {
        StoredResponse(requestHash: requestHash, status: 0, body: reference.isEmpty ? [] : VaultJSON.encode(reference), createdAt: date)
    }

    /// The provider reference a pending claim was sent with.
    public var pendingReference: [String: String] {
        guard isPending, !body.isEmpty else { return [:] }
        return VaultJSON.decode([String: String].self, from: body) ?? [:]
    }

    public static let inFlight = VaultError(
        .conflict, code: .requestInFlight,
        message: "a request with this Idempotency-Key is still being processed")

    /// A retry of a money-moving call that was sent, but whose answer never arrived (a timeout,
    /// a lost connection, a crash of the vault). The vault never sends it again.
    public static func outcomeUnknown(reference: [String: String]) -> VaultError {
        var error = VaultError(
            .conflict, code: .outcomeUnknown,
            message: "the first request with this Idempotency-Key was sent to the provider but its outcome is unknown; "
                + "ask the provider by the reference given, and use a new key only if it did not happen")
        error.reference = reference.isEmpty ? nil : reference
        return error
    }

    public static let keyRequired = VaultError(
        .malformedRequest, code: .idempotencyKeyRequired,
        message: "this route moves money: send an Idempotency-Key header (1 to 255 visible ASCII characters)", field: "Idempotency-Key")

    public static let conflict = VaultError(
        .conflict, code: .idempotencyConflict,
        message: "this Idempotency-Key was already used with a different request")
}
