// swift-tools-version:6.1
import PackageDescription

// CI sets LAUNCH_WARNINGS_AS_ERRORS=1: a warning in our own targets fails the build (dependencies are not affected).
let strict: [SwiftSetting] =
    [
        .swiftLanguageMode(.v6),
        .enableUpcomingFeature("ExistentialAny"),
    ] + (Context.environment["LAUNCH_WARNINGS_AS_ERRORS"] == "1" ? [.unsafeFlags(["-warnings-as-errors"])] : [])

let package = Package(
    name: "launch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "launch", targets: ["launch"]),
        .library(name: "LaunchKit", targets: ["LaunchKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        // All behaviour: profiles, compose model, env files, GPUs, preflight, engine, reports.
        .target(
            name: "LaunchKit",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        // The thin executable: ArgumentParser command structs only.
        .executableTarget(
            name: "launch",
            dependencies: [
                "LaunchKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LaunchKitTests",
            dependencies: ["LaunchKit"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["LaunchKit"],
            swiftSettings: strict
        ),
    ]
)
