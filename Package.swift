// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "Siphon",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Siphon", targets: ["Siphon"]),
        .executable(name: "siphon", targets: ["SiphonCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .target(
            name: "SiphonCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonSystem",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonWire",
            dependencies: [
                "SiphonCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonPgOutput",
            dependencies: [
                "SiphonCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonReplication",
            dependencies: [
                "SiphonCore", "SiphonWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonEngine",
            dependencies: [
                "SiphonCore", "SiphonWire", "SiphonPgOutput", "SiphonReplication",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonAdmin",
            dependencies: [
                "SiphonCore", "SiphonReplication",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonSync",
            dependencies: [
                "SiphonCore", "SiphonReplication", "SiphonEngine", "SiphonAdmin", "SiphonTrigger",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonTrigger",
            dependencies: [
                "SiphonCore", "SiphonReplication",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonService",
            dependencies: [
                "SiphonCore", "SiphonEngine", "SiphonTrigger",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Siphon",
            dependencies: [
                "SiphonCore", "SiphonReplication", "SiphonEngine", "SiphonAdmin", "SiphonTrigger", "SiphonService",
                "SiphonSync",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SiphonCLI",
            dependencies: [
                "SiphonCore", "SiphonEngine", "SiphonAdmin", "SiphonReplication", "SiphonService", "SiphonSync",
                "SiphonSystem", "SiphonTrigger",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "OrderNotifications",
            dependencies: [
                "Siphon",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/OrderNotifications",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SiphonTestSupport",
            dependencies: [
                "SiphonCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SiphonTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonEngineTests",
            dependencies: [
                "SiphonEngine", "SiphonCore", "SiphonPgOutput", "SiphonReplication", "SiphonTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonTriggerTests",
            dependencies: [
                "SiphonTrigger", "SiphonAdmin", "SiphonCore", "SiphonEngine", "SiphonReplication", "SiphonTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonSyncTests",
            dependencies: [
                "SiphonSync", "SiphonCore", "SiphonEngine", "SiphonReplication", "SiphonTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonAdminTests",
            dependencies: [
                "SiphonAdmin", "SiphonCore", "SiphonReplication", "SiphonTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonCLITests",
            dependencies: [
                "SiphonCLI", "SiphonCore", "SiphonEngine", "SiphonReplication", "SiphonSystem", "SiphonTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonBenchTests",
            dependencies: ["SiphonCLI", "SiphonSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonCoreTests",
            dependencies: ["SiphonCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonWireTests",
            dependencies: [
                "SiphonWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonPgOutputTests",
            dependencies: [
                "SiphonPgOutput", "SiphonTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SiphonReplicationTests",
            dependencies: [
                "SiphonReplication", "SiphonWire", "SiphonTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
