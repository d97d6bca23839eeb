import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VaultDomain
import VaultHSM
import VaultProviders
import VaultStorage

/// The one seam shared by `cardvault serve` and the tests: opens the vault, checks that it is
/// safe to serve (loopback, master key present and private, keys initialised) and wires routes,
/// middleware and background services.
public func buildApplication(
    _ configuration: VaultServerConfiguration, logger: Logger? = nil, adminCommands: AdminCommandRunner? = nil
) async throws -> some ApplicationProtocol {
    var logger = logger ?? Logger(label: "cardvault")
    logger.logLevel = configuration.logLevel
    try configuration.validate()
    var hardwareKeys: (@Sendable () throws(VaultError) -> any HardwareKeyStore)?
    if let settings = configuration.pkcs11 {
        hardwareKeys = { () throws(VaultError) -> any HardwareKeyStore in try PKCS11KeyStore(settings: settings) }
    }
    let runtime = try VaultRuntime(
        databasePath: configuration.databasePath, keysDirectory: configuration.keysDirectory,
        securityCodeTTL: configuration.securityCodeTTL, maxPendingCodes: configuration.maxPendingCodes, defaultRetention: configuration.defaultRetention,
        logger: logger, hardwareKeys: hardwareKeys)
    return try await buildApplication(configuration, runtime: runtime, logger: logger, adminCommands: adminCommands)
}

/// Builds the application over an already-open runtime (tests share one with admin calls).
public func buildApplication(
    _ configuration: VaultServerConfiguration, runtime: VaultRuntime, logger: Logger, adminCommands: AdminCommandRunner? = nil
) async throws -> some ApplicationProtocol {
    // Refuse to start without initialised keys or (file seal) a usable master key: one-line
    // reasons. A shamir vault starts sealed and waits for its shares on the admin socket.
    let snapshot = try await runtime.store.read { try $0.keySnapshot() }
    let seal = snapshot.seal
    switch seal.kind {
    case .file:
        _ = try runtime.keys.directory.loadMasterKey()
        try await runtime.keyAdmin.loadAtStart()
    case .pkcs11:
        try await runtime.keyAdmin.loadAtStart()
    case .shamir:
        guard snapshot.isInitialised else { throw VaultError.keysNotInitialised }
        // Tells the ring its seal, so every service sees "sealed" from the first instant.
        try? runtime.keys.refresh(from: snapshot)
        if !runtime.keys.isLoaded {
            logger.notice(
                "sealed: waiting for \(seal.threshold ?? 0) of \(seal.shares ?? 0) key shares (`cardvault operator unseal`)",
                metadata: ["admin_socket": "\(configuration.adminSocket ?? "none")"])
        }
    }
    let gate = try connectionGate(configuration)
    var (router, services) = buildRouter(configuration, runtime: runtime, logger: logger, gate: gate)
    if let path = configuration.adminSocket {
        let admin = AdminSocketService(
            path: path, mode: configuration.adminSocketMode, group: configuration.adminSocketGroup, runtime: runtime, databasePath: configuration.databasePath,
            runner: adminCommands, logger: logger)
        try admin.bind()
        services.append(admin)
    }
    // Further addresses (a Unix socket beside TCP) are served by the same router, as services
    // of the first one, so they start and stop together.
    var all = services
    for address in configuration.additionalListen {
        all.append(
            try listener(router, address, socketMode: configuration.socketMode, services: [], logger: logger, limits: configuration.connections, gate: gate))
    }
    return try listener(
        router, configuration.listen, socketMode: configuration.socketMode, services: all, logger: logger, limits: configuration.connections, gate: gate)
}

/// The process's cap on open connections: `CARDVAULT_MAX_CONNECTIONS`, or what the descriptor
/// limit leaves after `ConnectionGate.reservedDescriptors`. A cap the limit cannot hold is
/// refused at start, naming both.
func connectionGate(_ configuration: VaultServerConfiguration) throws(VaultError) -> ConnectionGate {
    let descriptors = ConnectionGate.descriptorLimit()
    let cap = configuration.connections.maxConnections ?? ConnectionGate.defaultLimit(descriptors: descriptors)
    guard cap + ConnectionGate.reservedDescriptors <= descriptors else {
        throw .invalid(
            "CARDVAULT_MAX_CONNECTIONS", code: .invalidSetting,
            "\(cap) connections and the vault's \(ConnectionGate.reservedDescriptors) descriptors do not fit the limit of "
                + "\(descriptors) open files (raise LimitNOFILE or lower the cap)")
    }
    return ConnectionGate(limit: cap)
}

/// Every route and the background services, for `buildApplication` and for the test that
/// keeps the router and the OpenAPI document in step.
func buildRouter(
    _ configuration: VaultServerConfiguration, runtime: VaultRuntime, logger: Logger, gate: ConnectionGate? = nil
) -> (Router<VaultRequestContext>, [any Service]) {
    // The server's card service: the runtime's, with the configured default retention.
    let cards = CardVault(
        store: runtime.store, keys: runtime.keys, codes: runtime.codes,
        defaultRetention: configuration.defaultRetention ?? runtime.defaultRetention, limits: configuration.tokenizeLimits())
    let metrics = HTTPMetrics(codes: runtime.codes, connections: gate)
    let router = Router(context: VaultRequestContext.self)
    router.add(middleware: RequestObservationMiddleware(metrics: metrics))
    router.add(middleware: SealGateMiddleware(keys: runtime.keys))
    router.addRoutes(HealthController(runtime: runtime, metrics: metrics).endpoints)
    router.get("openapi.json") { _, _ in Response.json(.ok, Array(OpenAPIDocument.json.utf8)) }
    router.addRoutes(CardsController(cards: cards, auth: runtime.authenticator).endpoints, atPath: "/v1/cards")

    var services: [any Service] = [
        LifecycleAuditService(
            runtime: runtime, listen: "\(configuration.listen)", anchorFile: configuration.auditAnchorFile,
            checkpointRows: configuration.auditCheckpointRows, checkpointSeconds: configuration.auditCheckpointSeconds, logger: logger),
        KeyRingRefresher(runtime: runtime, interval: configuration.keyRefreshInterval, logger: logger),
        MaintenanceService(runtime: runtime, idempotencyRetention: configuration.idempotencyRetention, logger: logger, metrics: metrics),
    ]
    if runtime.store.sequencesAuditAfterCommit {
        services.append(AuditSequencerService(runtime: runtime, interval: .milliseconds(200), logger: logger))
    }
    // One provider client (one connection pool per provider host) for every provider.
    let providerClient = configuration.horizonpay == nil && configuration.ioka == nil ? nil : ProviderHTTPClient()
    if let providerClient { services.append(ProviderClientService(client: providerClient)) }
    if let settings = configuration.horizonpay, settings.webhookKey == nil {
        if settings.allowUnsignedNotifications {
            logger.warning("Horizonpay notifications are taken WITHOUT a signature (HORIZONPAY_ALLOW_UNSIGNED_NOTIFICATIONS=1): for the simulator only")
        } else {
            logger.notice("Horizonpay notifications answer 503 until HORIZONPAY_WEBHOOK_PUBLIC_KEY is set")
        }
    }
    // One register of the idempotency claims being sent, shared by both providers.
    let inFlight = InFlightClaims()
    let horizonpay = configuration.horizonpay.flatMap { settings in
        providerClient.map { HorizonpayForwarder(configuration: settings, client: $0, cards: cards, logger: logger, inFlight: inFlight) }
    }
    router.addRoutes(HorizonpayController(forwarder: horizonpay, auth: runtime.authenticator).endpoints, atPath: "/v1/horizonpay")
    let ioka = configuration.ioka.flatMap { settings in
        providerClient.map { IokaForwarder(configuration: settings, client: $0, cards: cards, inFlight: inFlight) }
    }
    let iokaController = IokaController(references: ProviderReferences(context: cards.context), forwarder: ioka, auth: runtime.authenticator)
    router.addRoutes(iokaController.endpoints, atPath: "/v1/ioka")
    router.addRoutes(iokaController.cardEndpoints, atPath: "/v1/cards")

    return (router, services)
}

/// One HTTP server on `address`. A Unix socket replaces a stale socket file (never any other
/// file) and gets `socketMode` as soon as it is bound: the socket's file mode is the first gate,
/// before the bearer secret.
func listener(
    _ router: Router<VaultRequestContext>, _ address: ListenAddress, socketMode: mode_t, services: [any Service],
    logger: Logger, limits: ConnectionLimits = ConnectionLimits(), gate: ConnectionGate? = nil
) throws -> Application<RouterResponder<VaultRequestContext>> {
    guard let path = address.unixPath else {
        return Application(
            router: router, server: .wipingHTTP1(limits: limits, gate: gate),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "cardvault"),
            services: services, logger: logger)
    }
    var info = stat()
    if lstat(path, &info) == 0 {
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw VaultError(.failedPrecondition, code: .socketPathTaken, message: "\(path) exists and is not a socket; refusing to replace it")
        }
        unlink(path)
    }
    let folder = (path as NSString).deletingLastPathComponent
    if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750]) }
    // Until the mode is set the socket has the process umask's mode (the unit sets UMask=0077);
    // the folder, created 0750, gates it too.
    return Application(
        router: router, server: .wipingHTTP1(limits: limits, gate: gate), configuration: .init(address: .unixDomainSocket(path: path), serverName: "cardvault"),
        services: services, onServerRunning: { _ in chmod(path, socketMode) }, logger: logger)
}
