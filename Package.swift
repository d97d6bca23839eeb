// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

let package = Package(
    name: "cardvault",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cardvault", targets: ["cardvault"]),
        .executable(name: "cardvault-bench", targets: ["CardvaultBench"]),
        .executable(name: "cardvault-simulator", targets: ["CardvaultSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // The PostgreSQL backend (issue 15): the maintained Swift client of the wire protocol,
        // not a hand-wrapped libpq.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Already in the graph through postgres-nio and async-http-client: the TLS context for
        // sslmode=require|verify-ca|verify-full.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Already in the graph: an event loop of PostgreSQL's own, apart from the HTTP server's.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        // Already in the graph through hummingbird: the HTTP types channel handlers the request
        // deadline handler sits among.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // The only place the C library is visible.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        // Thin, zeroizing wrapper over libsodium: guarded memory, AEAD, keyed hashes, randomness.
        .target(name: "VaultCrypto", dependencies: ["CSodium"], swiftSettings: strict),
        // The PKCS#11 (Cryptoki) C interface from p11-kit's header; the module is dlopen'ed.
        .systemLibrary(
            name: "CPKCS11",
            pkgConfig: "p11-kit-1",
            providers: [.apt(["libp11-kit-dev"])]
        ),
        // The pkcs11 seal: a token key that wraps and unwraps the vault's keys (SoftHSM2 in tests).
        .target(name: "VaultHSM", dependencies: ["CPKCS11", "VaultDomain", "VaultCrypto"], swiftSettings: strict),
        // Card rules, key hierarchy, services and repository protocols. No HTTP, no SQL.
        .target(
            name: "VaultDomain",
            dependencies: [
                "VaultCrypto"
            ],
            swiftSettings: strict
        ),
        // SQLite through GRDB: migrations, records, the group-commit writer, repositories; and
        // VaultRuntime, the one place that picks SQLite or PostgreSQL.
        .target(
            name: "VaultStorage",
            dependencies: [
                "VaultDomain", "VaultCrypto", "VaultPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // PostgreSQL through PostgresNIO: migrations, the transaction, the connection pool.
        .target(
            name: "VaultPostgres",
            dependencies: [
                "VaultDomain", "VaultCrypto",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Provider calls (one folder per provider): the only code that builds card payloads.
        .target(
            name: "VaultProviders",
            dependencies: [
                "VaultDomain", "VaultCrypto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // RSA-SHA256 verification of Horizonpay notifications (libsodium has no RSA).
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Local stand-ins for the providers, speaking the seed docs' JSON (tests, README walk-through).
        .target(
            name: "ProviderSimulators",
            dependencies: [
                "VaultProviders",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The JSON HTTP API (Hummingbird 2).
        .target(
            name: "VaultHTTP",
            dependencies: [
                "VaultDomain", "VaultStorage", "VaultCrypto", "VaultProviders", "VaultHSM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // Its parser's error type: malformed framing answers 400, not 500.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            // The API contract, compiled into the binary (no resource bundle to ship beside it).
            resources: [.embedInCode("OpenAPI/openapi.json")],
            swiftSettings: strict
        ),
        // Card files in and out (`cardvault import`): the sealed card file and its rows, the
        // mapping file. JSON lines through the providers' strict parser (card numbers straight
        // into SensitiveBytes).
        .target(
            name: "VaultImport",
            dependencies: ["VaultDomain", "VaultCrypto", "VaultProviders"],
            swiftSettings: strict
        ),
        // Server and admin subcommands; parsing and printing only.
        .executableTarget(
            name: "cardvault",
            dependencies: [
                "VaultHTTP", "VaultStorage", "VaultDomain", "VaultCrypto", "VaultPostgres", "VaultHSM", "VaultImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // The provider simulators as their own executable: test stand-ins stay out of the
        // audited `cardvault` binary.
        .executableTarget(
            name: "CardvaultSimulator",
            dependencies: [
                "ProviderSimulators", "VaultHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Benchmark helpers for scripts/bench*.sh: the no-HTTP baseline, seeding, and the
        // pass-through proxy (the same server framework and provider client, no vault work).
        .executableTarget(
            name: "CardvaultBench",
            dependencies: [
                "VaultStorage", "VaultDomain", "VaultCrypto", "VaultTestSupport", "VaultProviders", "VaultHTTP", "VaultHSM",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Test helpers without HTTP: temporary vaults, sentinel cards, leak scans, log capture.
        .target(
            name: "VaultTestSupport",
            dependencies: [
                "VaultDomain", "VaultStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The in-process server harness, for the HTTP and provider tests only.
        .target(
            name: "VaultHTTPTestSupport",
            dependencies: [
                "VaultTestSupport", "VaultDomain", "VaultStorage", "VaultHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "VaultCryptoTests", dependencies: ["VaultCrypto"], swiftSettings: strict),
        .testTarget(name: "VaultDomainTests", dependencies: ["VaultDomain", "VaultTestSupport", "VaultCrypto"], swiftSettings: strict),
        .testTarget(
            name: "VaultStorageTests",
            dependencies: [
                "VaultStorage", "VaultTestSupport", "VaultPostgres", "VaultDomain", "VaultCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VaultHSMTests", dependencies: ["VaultHSM", "VaultStorage", "VaultTestSupport", "VaultDomain", "VaultCrypto"], swiftSettings: strict),
        .testTarget(
            name: "VaultProvidersTests",
            dependencies: [
                "VaultProviders", "ProviderSimulators", "VaultHTTP", "VaultTestSupport", "VaultHTTPTestSupport", "VaultCrypto", "VaultDomain",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VaultHTTPTests",
            dependencies: [
                "VaultHTTP", "VaultTestSupport", "VaultHTTPTestSupport", "VaultDomain",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CardvaultCLITests",
            dependencies: [
                "cardvault", "CardvaultSimulator", "VaultTestSupport", "VaultDomain", "VaultStorage", "VaultCrypto", "VaultImport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
    ]
)
