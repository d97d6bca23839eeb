import Foundation
import VaultCrypto

/// The provider-references aggregate: ioka card and sender references, each sealed under a
/// vault token, found by a keyed blind index, read only for the provider calls that need them.
public struct ProviderReferences: VaultService {
    public let context: VaultContext

    public init(context: VaultContext) { self.context = context }

    // MARK: registration

    /// Registers a provider reference under a new token (`created`), or answers with the token
    /// that already holds it (`existing`, its details refreshed with what was given).
    public func register(_ input: ReferenceInput, kind: ProviderReferenceKind, caller: Caller, idempotencyKey: IdempotencyKey?) async throws -> CardAnswer {
        let (reference, details) = try input.validated(as: kind)
        return try await storeReference(reference, details: details, on: nil, caller: caller, idempotencyKey: idempotencyKey)
    }

    /// Attaches a provider reference to a token that exists already (a vaulted card). A token
    /// that held another reference of the same kind gets the new one; a reference registered to
    /// another token is refused (`reference_in_use`).
    public func attach(
        _ input: ReferenceInput, kind: ProviderReferenceKind, to tokenText: String, caller: Caller,
        idempotencyKey: IdempotencyKey?
    ) async throws -> CardAnswer {
        guard let token = CardToken(tokenText) else { throw VaultError.cardNotFound }
        let (reference, details) = try input.validated(as: kind)
        return try await storeReference(reference, details: details, on: token, caller: caller, idempotencyKey: idempotencyKey)
    }

    public static let referenceInUse = VaultError(
        .conflict, code: .referenceInUse,
        message: "this reference is registered to another vault token")

    private func storeReference(
        _ reference: ProviderReference, details: ReferenceDetails, on target: CardToken?, caller: Caller,
        idempotencyKey: IdempotencyKey?
    ) async throws -> CardAnswer {
        let now = clock()
        let derived = try await loadedKeys().derivedKeys()
        let tenant = caller.tenant
        let indexKey = try derived.tenant(tenant).providerReference
        let blind = reference.blindIndex(key: indexKey)
        let idempotencyKey = idempotencyKey?.blinded(with: derived.idempotency)
        let operation = IdempotentOperation.registerReference(reference.kind, onCard: target != nil)
        let requestHash = idempotencyKey.map { _ in
            StoredResponse.requestHash(
                operation: operation, canonical: blind + Array((target?.rawValue ?? "").utf8) + VaultJSON.encode(details),
                key: derived.idempotency)
        }
        let (keys, actor, chain) = (self.keys, caller.actor, AuditChain(key: derived.audit))
        let codes = self.codes
        let action = target == nil ? "\(reference.kind.rawValue).register" : "\(reference.kind.rawValue).attach"
        try await refreshKeys()
        let answer = try await withKeyRetry {
            try await idempotentWrite(caller, action: action, chain: chain, at: now, key: idempotencyKey, requestHash: requestHash) {
                tx -> (CardAnswer?, VaultError?) in
                let existing = try tx.reference(kind: reference.kind, blindIndex: blind, tenant: tenant)
                let token: CardToken
                var outcome = CardAnswer.Outcome.existing
                var event = action
                if let target {
                    guard try tx.card(token: target, tenant: tenant) != nil || !tx.references(token: target, tenant: tenant).isEmpty else {
                        try tx.appendAudit(AuditEvent(action: action, subject: target.rawValue, outcome: .failure, actor: actor), chain: chain, at: now)
                        return (nil, .cardNotFound)
                    }
                    if let existing, existing.token != target {
                        // Returned, not thrown, so that the refusal's audit row commits.
                        try tx.appendAudit(
                            AuditEvent(action: action, subject: "\(target.rawValue)|reference_in_use", outcome: .denied, actor: actor), chain: chain, at: now)
                        return (nil, Self.referenceInUse)
                    }
                    token = target
                } else {
                    token = existing?.token ?? CardToken.generate()
                    if existing == nil { outcome = .created } else { event += "_existing" }
                }
                if var existing {
                    let merged = details.merged(with: existing.details)
                    if merged != existing.details {
                        existing.details = merged
                        existing.updatedAt = now
                        try tx.save(existing)
                    }
                } else {
                    try tx.save(
                        SealedProviderReference.seal(
                            reference, token: token, tenant: tenant, details: details, key: try keys.activeKey(), indexKey: indexKey, at: now))
                }
                try tx.appendAudit(AuditEvent(action: event, subject: token.rawValue, outcome: .success, actor: actor), chain: chain, at: now)
                return (CardAnswer(outcome, body: try Self.metadataBytes(of: token, tenant: tenant, tx: tx, keys: keys, codes: codes, now: now)), nil)
            }
        }
        if let refusal = answer.1 { throw refusal }
        guard let answer = answer.0 else { throw VaultError.cardNotFound }
        return answer
    }

    /// A token's metadata inside a transaction (its card opened with a loaded key version).
    static func metadataBytes(of token: CardToken, tenant: Tenant, tx: any VaultReader, keys: KeyRing, codes: SecurityCodeVault, now: Date) throws -> [UInt8] {
        let references = try tx.references(token: token, tenant: tenant)
        try SealedProviderReference.verify(references, keys: keys)
        if let card = try tx.card(token: token, tenant: tenant) {
            let data = try keys.open(card)
            return CardMetadata(
                card: card, data: data, codeExpiresAt: try codes.expiry(for: token, now: now) ?? tx.pendingCodeExpiry(token: token, tenant: tenant, at: now),
                references: references
            ).jsonBytes
        }
        guard let metadata = ReferenceMetadata(token: token, references: references) else { throw VaultError.cardNotFound }
        return metadata.jsonBytes
    }

    // MARK: provider calls

    /// One reference a provider call needs: the token the caller named, the kind, and the field
    /// it came in (named in errors).
    public struct ReferenceNeed: Sendable {
        public let token: CardToken
        public let kind: ProviderReferenceKind
        public let field: String

        public init(token: CardToken, kind: ProviderReferenceKind, field: String) {
            self.token = token
            self.kind = kind
            self.field = field
        }
    }
}
