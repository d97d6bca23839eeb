/// Every error code the vault answers with, declared once. Clients may switch on a code: it never
/// changes meaning. `registry` gives each one's meaning; docs/api.md's table and the OpenAPI
/// document's `Error.code` enum are checked against it by tests, so none can drift.
extension VaultError {
    public struct Code: Sendable, Hashable, CustomStringConvertible, Encodable {
        public let rawValue: String

        fileprivate init(_ rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }
}

/// The codes by name. What each means is written once, in `registry` below, which docs/api.md's
/// table and the OpenAPI enum are checked against.
extension VaultError.Code {
    // MARK: Requests
    public static let malformedRequest = Self("malformed_request")
    public static let bodyTooLarge = Self("body_too_large")
    public static let notFound = Self("not_found")
    public static let methodNotAllowed = Self("method_not_allowed")
    public static let idempotencyKeyRequired = Self("idempotency_key_required")
    public static let idempotencyConflict = Self("idempotency_conflict")
    public static let requestInFlight = Self("request_in_flight")
    public static let outcomeUnknown = Self("outcome_unknown")
    public static let internalError = Self("internal_error")
    public static let httpError = Self("http_error")

    // MARK: Clients and limits
    public static let unauthenticated = Self("unauthenticated")
    public static let missingScope = Self("missing_scope")
    public static let rateLimited = Self("rate_limited")
    public static let enumerationSuspected = Self("enumeration_suspected")
    public static let clientExists = Self("client_exists")
    public static let clientNotFound = Self("client_not_found")
    public static let clientRevoked = Self("client_revoked")
    public static let invalidName = Self("invalid_name")
    public static let invalidTenant = Self("invalid_tenant")
    public static let tenantNotFound = Self("tenant_not_found")
    public static let unknownScope = Self("unknown_scope")

    // MARK: Cards
    public static let missingField = Self("missing_field")
    public static let invalidFields = Self("invalid_fields")
    public static let invalidCard = Self("invalid_card")
    public static let invalidCardNumber = Self("invalid_card_number")
    public static let invalidExpiry = Self("invalid_expiry")
    public static let invalidExpiryDate = Self("invalid_expiry_date")
    public static let cardExpired = Self("card_expired")
    public static let invalidHolder = Self("invalid_holder")
    public static let invalidVerificationValue = Self("invalid_verification_value")
    public static let invalidRetainUntil = Self("invalid_retain_until")
    public static let noChanges = Self("no_changes")
    public static let cardNotFound = Self("card_not_found")
    public static let cardUnreadable = Self("card_unreadable")
    public static let integrityFailure = Self("integrity_failure")
    public static let verificationValueCapacity = Self("verification_value_capacity")
    public static let verificationValueRequired = Self("verification_value_required")

    // MARK: Providers
    public static let providerNotConfigured = Self("provider_not_configured")
    public static let cardDataNotAllowed = Self("card_data_not_allowed")
    public static let invalidCardReference = Self("invalid_card_reference")
    public static let unknownField = Self("unknown_field")
    public static let invalidToken = Self("invalid_token")
    public static let noSavedToken = Self("no_saved_token")
    public static let invalidJobId = Self("invalid_job_id")
    public static let invalidOrderId = Self("invalid_order_id")
    public static let orderNotFound = Self("order_not_found")
    public static let jobNotFound = Self("job_not_found")
    public static let invalidReference = Self("invalid_reference")
    public static let invalidImportReference = Self("invalid_import_reference")
    public static let importFileUnreadable = Self("import_file_unreadable")
    public static let outputFileExists = Self("output_file_exists")
    public static let invalidPanMasked = Self("invalid_pan_masked")
    public static let invalidPaymentSystem = Self("invalid_payment_system")
    public static let invalidEmitter = Self("invalid_emitter")
    public static let invalidCustomerId = Self("invalid_customer_id")
    public static let iokaCardMissing = Self("ioka_card_missing")
    public static let iokaSenderMissing = Self("ioka_sender_missing")
    public static let referenceInUse = Self("reference_in_use")
    public static let referenceUnreadable = Self("reference_unreadable")
    public static let providerTokenUnreadable = Self("provider_token_unreadable")
    public static let notificationsNotConfigured = Self("notifications_not_configured")
    public static let signatureMissing = Self("signature_missing")
    public static let signatureInvalid = Self("signature_invalid")
    public static let upstreamUnavailable = Self("upstream_unavailable")
    public static let upstreamTimeout = Self("upstream_timeout")
    public static let upstreamInvalidResponse = Self("upstream_invalid_response")
    public static let upstreamError = Self("upstream_error")

    // MARK: Storage and keys
    public static let storageUnavailable = Self("storage_unavailable")
    public static let storageUnconfirmed = Self("storage_unconfirmed")
    public static let notReady = Self("not_ready")
    public static let keyUnavailable = Self("key_unavailable")
    public static let keyUnwrapFailed = Self("key_unwrap_failed")
    public static let keyVersionActive = Self("key_version_active")
    public static let keyVersionInUse = Self("key_version_in_use")
    public static let keyVersionNotFound = Self("key_version_not_found")
    public static let keyVersionNotUsable = Self("key_version_not_usable")
    public static let keyVersionRetired = Self("key_version_retired")
    public static let keysAlreadyInitialised = Self("keys_already_initialised")
    public static let keysDirUnwritable = Self("keys_dir_unwritable")
    public static let keysLocked = Self("keys_locked")
    public static let keysNotInitialised = Self("keys_not_initialised")
    public static let keysPartiallyInitialised = Self("keys_partially_initialised")
    public static let masterKeyChanged = Self("master_key_changed")
    public static let masterKeyExists = Self("master_key_exists")
    public static let masterKeyInvalid = Self("master_key_invalid")
    public static let masterKeyMismatch = Self("master_key_mismatch")
    public static let masterKeyMissing = Self("master_key_missing")
    public static let masterKeyOwner = Self("master_key_owner")
    public static let masterKeyPermissions = Self("master_key_permissions")
    public static let masterKeySymlink = Self("master_key_symlink")
    public static let masterKeyUnreadable = Self("master_key_unreadable")
    public static let masterKeyWriteFailed = Self("master_key_write_failed")
    public static let secureMemoryUnavailable = Self("secure_memory_unavailable")

    // MARK: Seals and key custody
    public static let sealed = Self("sealed")
    public static let shareInvalid = Self("share_invalid")
    public static let shareWrongSet = Self("share_wrong_set")
    public static let shareRepeated = Self("share_repeated")
    public static let sharesMismatch = Self("shares_mismatch")
    public static let sharesRequired = Self("shares_required")
    public static let sealInvalid = Self("seal_invalid")
    public static let hsmUnavailable = Self("hsm_unavailable")
    public static let adminSocketUnavailable = Self("admin_socket_unavailable")
    public static let adminCommandRefused = Self("admin_command_refused")
    public static let adminSocketUntrusted = Self("admin_socket_untrusted")
    public static let adminBusy = Self("admin_busy")

    // MARK: Backups
    public static let backupExists = Self("backup_exists")
    public static let backupNotWritable = Self("backup_not_writable")
    public static let databaseExists = Self("database_exists")
    public static let backupKeysUnusable = Self("backup_keys_unusable")
    public static let backupAuditBroken = Self("backup_audit_broken")
    public static let backupSchemaUnknown = Self("backup_schema_unknown")
    public static let backupSchemaAltered = Self("backup_schema_altered")
    public static let backupCorrupt = Self("backup_corrupt")
    public static let backupWithoutKeys = Self("backup_without_keys")

    // MARK: Server settings
    public static let invalidSetting = Self("invalid_setting")
    public static let invalidListen = Self("invalid_listen")
    public static let nonLoopbackListen = Self("non_loopback_listen")
    public static let socketPathTaken = Self("socket_path_taken")
    public static let mlockUnavailable = Self("mlock_unavailable")
    public static let invalidVersion = Self("invalid_version")

    /// One code of the registry: its group in the reference, and what it means.
    public struct Entry: Sendable {
        public let group: String
        public let code: VaultError.Code
        public let meaning: String
    }

    /// The registered code spelled `rawValue` (an answer from the admin socket), if any.
    public static func known(_ rawValue: String) -> VaultError.Code? {
        registry.first { $0.code.rawValue == rawValue }?.code
    }

    /// Every code, grouped as the API reference shows them.
    public static let registry: [Entry] = [
        Entry(
            group: "Requests", code: .malformedRequest,
            meaning: "The body is not one strict JSON object (RFC 8259, no duplicate keys), a field has the wrong type or is unknown, or a header is malformed."
        ),
        Entry(group: "Requests", code: .bodyTooLarge, meaning: "The request body is larger than 64 KiB."),
        Entry(group: "Requests", code: .notFound, meaning: "No such route."),
        Entry(group: "Requests", code: .methodNotAllowed, meaning: "The route does not take that method."),
        Entry(group: "Requests", code: .idempotencyKeyRequired, meaning: "The route moves money and the request has no Idempotency-Key."),
        Entry(group: "Requests", code: .idempotencyConflict, meaning: "The Idempotency-Key was used before with a different request."),
        Entry(group: "Requests", code: .requestInFlight, meaning: "A request with this Idempotency-Key is still being processed."),
        Entry(
            group: "Requests", code: .outcomeUnknown,
            meaning:
                "A provider call under this Idempotency-Key was sent but its answer was lost; `error.reference` names it. Ask the provider before sending again under a new key."
        ),
        Entry(group: "Requests", code: .internalError, meaning: "An unexpected failure; nothing about it is shown."),
        Entry(group: "Requests", code: .httpError, meaning: "An HTTP-level failure of the server framework."),
        Entry(group: "Clients and limits", code: .unauthenticated, meaning: "No bearer secret, or an unknown, revoked or rotated-out one."),
        Entry(group: "Clients and limits", code: .missingScope, meaning: "The client lacks the route's scope."),
        Entry(group: "Clients and limits", code: .rateLimited, meaning: "The client is over its tokenize rate; see Retry-After."),
        Entry(
            group: "Clients and limits", code: .enumerationSuspected,
            meaning: "The client tokenized too many different cards with the same first six and last four digits within 24 hours; nothing was stored."),
        Entry(group: "Clients and limits", code: .clientExists, meaning: "A client with this name exists."),
        Entry(group: "Clients and limits", code: .clientNotFound, meaning: "No client with this name."),
        Entry(group: "Clients and limits", code: .clientRevoked, meaning: "The client is revoked."),
        Entry(
            group: "Clients and limits", code: .invalidName, meaning: "A client name is not 1 to 64 letters, digits, '-', '_' or '.' starting with a letter."),
        Entry(
            group: "Clients and limits", code: .invalidTenant, meaning: "A tenant is not 1 to 64 lower-case letters, digits, '-' or '_' starting with a letter."
        ),
        Entry(
            group: "Clients and limits", code: .tenantNotFound, meaning: "No client belongs to this tenant yet; `clients add --new-tenant` starts one."),
        Entry(group: "Clients and limits", code: .unknownScope, meaning: "A scope that does not exist."),
        Entry(group: "Cards", code: .missingField, meaning: "A required field is absent."),
        Entry(group: "Cards", code: .invalidFields, meaning: "Several fields are invalid; `error.fields` lists each."),
        Entry(group: "Cards", code: .invalidCard, meaning: "The card is invalid."),
        Entry(
            group: "Cards", code: .invalidCardNumber,
            meaning: "The card number is not 12 to 19 digits, fails the Luhn check or does not match its payment system's lengths."),
        Entry(group: "Cards", code: .invalidExpiry, meaning: "exp_month or exp_year is not a valid month or year."),
        Entry(group: "Cards", code: .invalidExpiryDate, meaning: "expiry_date is not MM/YY."),
        Entry(group: "Cards", code: .cardExpired, meaning: "The card has expired."),
        Entry(group: "Cards", code: .invalidHolder, meaning: "The holder name is empty, too long or has characters a card does not carry."),
        Entry(group: "Cards", code: .invalidVerificationValue, meaning: "The security code is not 3 digits (4 for American Express)."),
        Entry(group: "Cards", code: .invalidRetainUntil, meaning: "retain_until is not an RFC 3339 date or date-time in the future, at most 10 years ahead."),
        Entry(group: "Cards", code: .noChanges, meaning: "A PATCH that changes nothing."),
        Entry(group: "Cards", code: .cardNotFound, meaning: "No card with this token in the caller's tenant."),
        Entry(group: "Cards", code: .cardUnreadable, meaning: "A stored card failed its integrity check."),
        Entry(
            group: "Cards", code: .integrityFailure,
            meaning: "A stored row failed its integrity check (it was changed without the vault's keys); nothing was read or changed."),
        Entry(
            group: "Cards", code: .verificationValueCapacity,
            meaning: "Too many security codes are pending; nothing was stored. Retry later, or send the card without a code."),
        Entry(group: "Cards", code: .verificationValueRequired, meaning: "A transfer needs a pending security code for its source card."),
        Entry(group: "Providers", code: .providerNotConfigured, meaning: "The provider's settings are not given on this vault."),
        Entry(group: "Providers", code: .cardDataNotAllowed, meaning: "A request to a provider carried card data; cards are named by vault tokens only."),
        Entry(group: "Providers", code: .invalidCardReference, meaning: "A card object does not name a vault token."),
        Entry(group: "Providers", code: .unknownField, meaning: "A card object has a field other than token, holder and use_saved_token."),
        Entry(group: "Providers", code: .invalidToken, meaning: "A field that must be a vault token is not one."),
        Entry(group: "Providers", code: .noSavedToken, meaning: "No Horizonpay card token is stored for this card."),
        Entry(group: "Providers", code: .invalidJobId, meaning: "A Horizonpay job id is not valid."),
        Entry(group: "Providers", code: .invalidOrderId, meaning: "An ioka order id is not 1 to 64 letters, digits, '_' or '-'."),
        Entry(
            group: "Providers", code: .orderNotFound,
            meaning: "No ioka transfer order with this id was created through the vault for the caller's tenant (another tenant's order gets the same answer)."),
        Entry(
            group: "Providers", code: .jobNotFound,
            meaning: "No Horizonpay async job with this id was started through the vault for the caller's tenant (another tenant's job gets the same answer)."),
        Entry(group: "Providers", code: .invalidReference, meaning: "An ioka reference is not valid."),
        Entry(group: "Providers", code: .invalidPanMasked, meaning: "pan_masked is not a masked card number."),
        Entry(group: "Providers", code: .invalidPaymentSystem, meaning: "payment_system is not 1 to 32 printable characters without long digit runs."),
        Entry(group: "Providers", code: .invalidEmitter, meaning: "emitter is not 1 to 64 printable characters without long digit runs."),
        Entry(group: "Providers", code: .invalidCustomerId, meaning: "customer_id is not 1 to 128 printable characters without long digit runs."),
        Entry(group: "Providers", code: .iokaCardMissing, meaning: "The vault token holds no ioka card reference."),
        Entry(group: "Providers", code: .iokaSenderMissing, meaning: "The vault token holds no ioka sender reference."),
        Entry(group: "Providers", code: .referenceInUse, meaning: "The reference is registered to another vault token."),
        Entry(group: "Providers", code: .referenceUnreadable, meaning: "A stored provider reference failed its integrity check."),
        Entry(group: "Providers", code: .providerTokenUnreadable, meaning: "A stored provider card token failed its integrity check."),
        Entry(
            group: "Providers", code: .notificationsNotConfigured,
            meaning: "Horizonpay notifications cannot be verified: HORIZONPAY_WEBHOOK_PUBLIC_KEY is not set."),
        Entry(group: "Providers", code: .signatureMissing, meaning: "A notification without its Content-Signature."),
        Entry(group: "Providers", code: .signatureInvalid, meaning: "A notification whose Content-Signature does not match its body."),
        Entry(group: "Providers", code: .upstreamUnavailable, meaning: "The provider could not be reached, or the connection broke."),
        Entry(group: "Providers", code: .upstreamTimeout, meaning: "The provider did not answer in time; the call may have been processed."),
        Entry(group: "Providers", code: .upstreamInvalidResponse, meaning: "The provider's answer was not strict JSON."),
        Entry(group: "Providers", code: .upstreamError, meaning: "The provider answered with a server error."),
        Entry(group: "Storage and keys", code: .storageUnavailable, meaning: "The vault's storage is not available."),
        Entry(
            group: "Storage and keys", code: .storageUnconfirmed,
            meaning: "The database did not confirm the commit in time: it may or may not have happened; retry with the same Idempotency-Key (see Retry-After)."
        ),
        Entry(group: "Storage and keys", code: .notReady, meaning: "The vault is not ready (readiness probe)."),
        Entry(group: "Storage and keys", code: .keyUnavailable, meaning: "The key a record needs is not available."),
        Entry(group: "Storage and keys", code: .keyUnwrapFailed, meaning: "A stored key does not unwrap under the master key."),
        Entry(group: "Storage and keys", code: .keyVersionActive, meaning: "The data-key version is the active one; rotate first."),
        Entry(group: "Storage and keys", code: .keyVersionInUse, meaning: "Cards, provider tokens or references still use the version; rewrap first."),
        Entry(group: "Storage and keys", code: .keyVersionNotFound, meaning: "There is no such data-key version."),
        Entry(group: "Storage and keys", code: .keyVersionNotUsable, meaning: "The data-key version was retired meanwhile; retry."),
        Entry(group: "Storage and keys", code: .keyVersionRetired, meaning: "The data-key version is already retired."),
        Entry(group: "Storage and keys", code: .keysAlreadyInitialised, meaning: "The keys are initialised already."),
        Entry(group: "Storage and keys", code: .keysDirUnwritable, meaning: "The keys folder cannot be created or written."),
        Entry(
            group: "Storage and keys", code: .keysLocked, meaning: "Another cardvault command held the keys folder's lock for too long; retry when it is done."),
        Entry(group: "Storage and keys", code: .keysNotInitialised, meaning: "The keys are not initialised: run `cardvault keys init`."),
        Entry(group: "Storage and keys", code: .keysPartiallyInitialised, meaning: "The database holds partial key material; restore it from a backup."),
        Entry(group: "Storage and keys", code: .masterKeyChanged, meaning: "The master key changed during the operation; run it again."),
        Entry(group: "Storage and keys", code: .masterKeyExists, meaning: "A master key file exists already."),
        Entry(group: "Storage and keys", code: .masterKeyInvalid, meaning: "The master key file is not a regular file of the right size."),
        Entry(group: "Storage and keys", code: .masterKeyMismatch, meaning: "The master key did not wrap the keys in this database."),
        Entry(group: "Storage and keys", code: .masterKeyMissing, meaning: "The master key file is missing."),
        Entry(group: "Storage and keys", code: .masterKeyOwner, meaning: "The master key file is not owned by the user running cardvault."),
        Entry(group: "Storage and keys", code: .masterKeyPermissions, meaning: "The master key file is readable by group or others."),
        Entry(group: "Storage and keys", code: .masterKeySymlink, meaning: "The master key file is a symbolic link."),
        Entry(group: "Storage and keys", code: .masterKeyUnreadable, meaning: "The master key file cannot be read."),
        Entry(group: "Storage and keys", code: .masterKeyWriteFailed, meaning: "A key file could not be written."),
        Entry(group: "Storage and keys", code: .secureMemoryUnavailable, meaning: "Locked memory for the pending security codes cannot be reserved."),
        Entry(
            group: "Seals and key custody", code: .sealed,
            meaning: "The vault is sealed: it holds no master key until custodians unseal it (`cardvault operator unseal`)."),
        Entry(group: "Seals and key custody", code: .shareInvalid, meaning: "A key share is malformed or its check does not match: it is mistyped or corrupt."),
        Entry(group: "Seals and key custody", code: .shareWrongSet, meaning: "A key share belongs to another share set (an older one, or another vault's)."),
        Entry(group: "Seals and key custody", code: .shareRepeated, meaning: "The same key share was given twice."),
        Entry(group: "Seals and key custody", code: .sharesMismatch, meaning: "The shares rebuilt a key that is not this vault's master key."),
        Entry(
            group: "Seals and key custody", code: .sharesRequired,
            meaning: "The operation needs the threshold number of key shares (dual control) and fewer were given."),
        Entry(
            group: "Seals and key custody", code: .sealInvalid,
            meaning: "A seal setting is missing or out of range (seal kind, shares, threshold, share files, PKCS#11 settings)."),
        Entry(group: "Seals and key custody", code: .hsmUnavailable, meaning: "The PKCS#11 module, token, PIN or key cannot be used."),
        Entry(group: "Seals and key custody", code: .adminSocketUnavailable, meaning: "No cardvault server answers on the admin socket."),
        Entry(
            group: "Seals and key custody", code: .adminCommandRefused,
            meaning: "The admin socket does not run that command, or the server behind it serves another vault."),
        Entry(
            group: "Seals and key custody", code: .adminSocketUntrusted,
            meaning: "The process on the admin socket is not the cardvault service (owner, folder or user differ); nothing was sent."),
        Entry(group: "Seals and key custody", code: .adminBusy, meaning: "The admin socket serves as many connections as it takes at once; retry."),
        Entry(
            group: "Imports", code: .invalidImportReference,
            meaning: "An import row's reference is missing, not 1 to 128 visible ASCII characters, or looks like a card number."),
        Entry(
            group: "Imports", code: .importFileUnreadable,
            meaning:
                "The import file is not sealed to this vault's import key, or it is damaged, reordered or cut short; nothing was imported from the damaged part."
        ),
        Entry(group: "Imports", code: .outputFileExists, meaning: "The file to write exists already; give a new path."),
        Entry(group: "Backups", code: .backupExists, meaning: "The backup file exists already."),
        Entry(group: "Backups", code: .backupNotWritable, meaning: "The backup file cannot be created."),
        Entry(group: "Backups", code: .databaseExists, meaning: "A database is at the restore destination already."),
        Entry(group: "Backups", code: .backupKeysUnusable, meaning: "The backup's data keys do not unwrap with the master key."),
        Entry(group: "Backups", code: .backupAuditBroken, meaning: "The backup's audit chain is broken."),
        Entry(group: "Backups", code: .backupSchemaUnknown, meaning: "The backup's migrations are not a prefix of this build's."),
        Entry(group: "Backups", code: .backupSchemaAltered, meaning: "The backup's tables, indexes or triggers differ from what its migrations create."),
        Entry(group: "Backups", code: .backupCorrupt, meaning: "The backup fails SQLite's integrity check."),
        Entry(group: "Backups", code: .backupWithoutKeys, meaning: "The backup holds no initialised vault."),
        Entry(group: "Server settings", code: .invalidSetting, meaning: "A setting (flag, environment variable or file) is not valid."),
        Entry(group: "Server settings", code: .invalidListen, meaning: "A listen address is not host:port or unix:/absolute/path."),
        Entry(group: "Server settings", code: .nonLoopbackListen, meaning: "A listen address is not loopback and --allow-non-loopback was not given."),
        Entry(group: "Server settings", code: .socketPathTaken, meaning: "The socket path exists and is not a socket."),
        Entry(group: "Server settings", code: .mlockUnavailable, meaning: "CARDVAULT_REQUIRE_MLOCK=1 but memory cannot be locked."),
        Entry(group: "Server settings", code: .invalidVersion, meaning: "A key version is not a number such as 1 or v1."),
    ]
}
