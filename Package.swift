// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  // Members of modules imported only indirectly stay invisible: TOMLKit imports all of Foundation, and without this
  // a `range(of:)` in our code quietly linked Foundation, CoreFoundation and ICU into cnet (84 MB instead of 31).
  .enableUpcomingFeature("MemberImportVisibility"),
]

/// A libFuzzer harness in Sources/Fuzz/<directory> over the given library targets.
func fuzzTarget(_ name: String, _ directory: String, _ dependencies: [Target.Dependency]) -> Target {
  .executableTarget(
    name: name, dependencies: ["FuzzSupport"] + dependencies, path: "Sources/Fuzz/\(directory)",
    swiftSettings: swiftSettings)
}

let package = Package(
  name: "ContainerNetwork",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "NetworkAddress", targets: ["NetworkAddress"]),
    .library(name: "ContainerNetworkCore", targets: ["ContainerNetworkCore"]),
    .library(name: "OrderedJSON", targets: ["OrderedJSON"]),
    .library(name: "CNIRuntime", targets: ["CNIRuntime"]),
    .library(name: "NetworkNamespace", targets: ["NetworkNamespace"]),
    .library(name: "CNIBackend", targets: ["CNIBackend"]),
    .library(name: "ContainersConf", targets: ["ContainersConf"]),
    .library(name: "NetworkBackendFactory", targets: ["NetworkBackendFactory"]),
    .library(name: "NetavarkBackend", targets: ["NetavarkBackend"]),
    .library(name: "NetworkIPAM", targets: ["NetworkIPAM"]),
    .library(name: "NetworkNetlink", targets: ["NetworkNetlink"]),
    .library(name: "NativeDataplane", targets: ["NativeDataplane"]),
    .library(name: "NetworkNFTables", targets: ["NetworkNFTables"]),
    .executable(name: "cnet", targets: ["cnet"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
  ],
  targets: [
    // All C interop lives here: the calls Glibc's Swift module lacks.
    .target(name: "CNetShim"),
    // IPv4/IPv6 addresses, CIDR networks, MAC addresses: pure value types, no I/O.
    .target(name: "NetworkAddress", swiftSettings: swiftSettings),
    // A JSON value that keeps key order and number text, its parser, a Codable encoder into it, and Go's layout.
    .target(name: "OrderedJSON", swiftSettings: swiftSettings),
    // A read-only bbolt file reader and Podman's netavark IPAM database (ipam.db) on top of it; stdlib only.
    .target(name: "BoltDB", swiftSettings: swiftSettings),
    // The system-call layer every backend shares: atomic file writes, file locks, OS threads for blocking work,
    // wait statuses, and errors that keep their errno.
    .target(
      name: "SystemSupport",
      dependencies: ["CNetShim"],
      swiftSettings: swiftSettings
    ),
    // Podman's containers.conf: the files in Podman's precedence, the [network] and [engine] keys a backend needs.
    .target(
      name: "ContainersConf",
      dependencies: ["NetworkAddress", .product(name: "TOMLKit", package: "TOMLKit")],
      swiftSettings: swiftSettings
    ),
    // The ContainerNetwork protocol, the Podman-compatible model, validation and allocation.
    .target(
      name: "ContainerNetworkCore",
      dependencies: ["NetworkAddress", "SystemSupport"],
      swiftSettings: swiftSettings
    ),
    // Swift's libcni: find, execute and chain CNI plugins, cache results, convert versions.
    .target(
      name: "CNIRuntime",
      dependencies: [
        "CNetShim", "OrderedJSON",
        "SystemSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // rtnetlink from Swift: messages with nested attributes, a socket protocol (the Linux one and test fakes), and
    // link, address and route requests. No dependency on the network model.
    .target(
      name: "NetworkNetlink", dependencies: ["CNetShim", "NetworkAddress", "SystemSupport"],
      swiftSettings: swiftSettings),
    // nftables over nfnetlink: element batches for sets and maps (the native firewall's per-container state).
    .target(name: "NetworkNFTables", dependencies: ["NetworkAddress", "NetworkNetlink"], swiftSettings: swiftSettings),
    // The in-process dataplane: netavark's contract carried out over netlink (bridge, macvlan, routes).
    .target(
      name: "NativeDataplane",
      dependencies: [
        "CNIRuntime", "ContainerNetworkCore", "NetavarkBackend", "NetworkAddress", "NetworkNFTables",
        "NetworkNamespace",
        "NetworkNetlink", "OrderedJSON", "SystemSupport", .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // Create, enter (on a dedicated OS thread) and remove network namespaces.
    .target(
      name: "NetworkNamespace",
      dependencies: ["CNetShim", "ContainerNetworkCore", "NetworkAddress", "NetworkNetlink", "SystemSupport"],
      swiftSettings: swiftSettings
    ),
    // The ContainerNetwork backend over CNI: Podman's conflist store, setup and teardown through CNIRuntime.
    .target(
      name: "CNIBackend",
      dependencies: [
        "ContainerNetworkCore", "CNIRuntime", "CNetShim", "NetworkAddress", "OrderedJSON", "NetworkNamespace",
        "SystemSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // SQLite's C API, from Debian's libsqlite3-dev.
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
    // Persistent IPAM shared by processes: which container holds which address, and what each setup asked for.
    .target(
      name: "NetworkIPAM",
      dependencies: ["CSQLite", "ContainerNetworkCore", "NetworkAddress"],
      swiftSettings: swiftSettings
    ),
    // The ContainerNetwork backend over Podman's JSON networks, our IPAM and a netavark dataplane (the real program).
    .target(
      name: "NetavarkBackend",
      dependencies: [
        "BoltDB", "CNIRuntime", "ContainerNetworkCore", "NetworkAddress", "NetworkIPAM", "NetworkNamespace",
        "OrderedJSON",
        "SystemSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // Settings (Podman's defaults, containers.conf, CNET_* variables) and the factory that turns them into a backend.
    .target(
      name: "NetworkBackendFactory",
      dependencies: [
        "CNIBackend", "CNIRuntime", "ContainerNetworkCore", "ContainersConf", "NativeDataplane", "NetavarkBackend",
        "NetworkAddress",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // The `cnet` commands: Podman-style flags and output over the ContainerNetwork protocol. No network logic here.
    .target(
      name: "CNetCommands",
      dependencies: [
        "ContainerNetworkCore", "CNIBackend", "CNIRuntime", "NativeDataplane", "NetavarkBackend", "NetworkAddress",
        "NetworkBackendFactory", "NetworkNamespace", "OrderedJSON",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(name: "cnet", dependencies: ["CNetCommands"], swiftSettings: swiftSettings),
    // The README's "Using the library": an engine that attaches one namespace through the factory; CI runs it.
    .executableTarget(
      name: "example-engine",
      dependencies: ["ContainerNetworkCore", "NetworkAddress", "NetworkBackendFactory", "NetworkNamespace"],
      path: "Sources/ExampleEngine",
      swiftSettings: swiftSettings
    ),
    // In-process benchmark figures (list, inspect, create, subnet allocation); run by scripts/bench, never by tests.
    .executableTarget(
      name: "cnet-bench",
      dependencies: [
        "CNIBackend", "ContainerNetworkCore", "NetavarkBackend", "NetworkAddress", "NetworkBackendFactory",
        "NetworkNamespace",
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Sources/CNetBenchmarks",
      swiftSettings: swiftSettings
    ),
    // An IPAM writer that ReliabilityTests kill at random instants (kill -9 safety of the IPAM database).
    .executableTarget(
      name: "ipam-stress",
      dependencies: ["ContainerNetworkCore", "NetworkAddress", "NetworkIPAM"],
      path: "Sources/IPAMStress",
      swiftSettings: swiftSettings
    ),
    // libFuzzer harnesses, one per input kind; built with -DFUZZING by scripts/fuzz, otherwise they replay their seed
    // corpus under Fuzz/corpus once.
    .target(name: "CFuzzDriver", path: "Sources/Fuzz/CFuzzDriver"),
    .target(
      name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "Sources/Fuzz/FuzzSupport",
      swiftSettings: swiftSettings),
    fuzzTarget("fuzz-conflist", "FuzzConflist", ["CNIBackend", "CNIRuntime", "OrderedJSON"]),
    fuzzTarget("fuzz-cni-result", "FuzzCNIResult", ["CNIRuntime", "OrderedJSON"]),
    fuzzTarget("fuzz-network-json", "FuzzNetworkJSON", ["ContainerNetworkCore"]),
    fuzzTarget("fuzz-cli-specs", "FuzzCLISpecs", ["CNetCommands", "ContainerNetworkCore"]),
    fuzzTarget("fuzz-addresses", "FuzzAddresses", ["NetworkAddress"]),
    // A long-running process that sets up and tears down containers through the library; scripts/leak-test.
    .executableTarget(
      name: "cnet-soak",
      dependencies: ["CNIBackend", "CNetShim", "ContainerNetworkCore", "NetworkAddress"],
      path: "Sources/CNetSoak", swiftSettings: swiftSettings),
    // Helpers for tests only: temp dirs, privilege checks, throwaway network namespaces.
    .target(
      name: "TestSupport",
      dependencies: ["CNetShim", "NetworkNetlink", .product(name: "Logging", package: "swift-log")],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "NetworkAddressTests",
      dependencies: ["NetworkAddress", "TestSupport"],
      swiftSettings: swiftSettings
    ),
    .testTarget(name: "BoltDBTests", dependencies: ["BoltDB", "TestSupport"], swiftSettings: swiftSettings),
    .testTarget(
      name: "ContainerNetworkCoreTests",
      dependencies: ["ContainerNetworkCore", "TestSupport"],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "ContainersConfTests",
      dependencies: ["ContainersConf", "NetworkAddress", "TestSupport"],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "NetworkBackendFactoryTests",
      dependencies: [
        "CNIBackend", "ContainerNetworkCore", "ContainersConf", "NetavarkBackend", "NetworkAddress",
        "NetworkBackendFactory", "TestSupport",
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "NetavarkBackendTests",
      dependencies: [
        "ContainerNetworkCore", "NetavarkBackend", "NetworkAddress", "NetworkIPAM", "OrderedJSON", "SystemSupport",
        "TestSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "NativeDataplaneTests",
      dependencies: [
        "ContainerNetworkCore", "NativeDataplane", "NetavarkBackend", "NetworkAddress", "NetworkNFTables",
        "OrderedJSON", "TestSupport",
      ],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "NetworkNFTablesTests",
      dependencies: ["NetworkAddress", "NetworkNFTables", "NetworkNetlink", "TestSupport"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "NetworkNetlinkTests",
      dependencies: ["NetworkAddress", "NetworkNetlink", "NetworkNamespace", "TestSupport"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "NetworkNamespaceTests",
      dependencies: ["ContainerNetworkCore", "NetworkNamespace", "TestSupport"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "CNIBackendTests",
      dependencies: [
        "CNIBackend", "CNIRuntime", "ContainerNetworkCore", "NetworkAddress", "OrderedJSON", "TestSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      exclude: ["Fixtures"],
      swiftSettings: swiftSettings
    ),
    // Runs the built `cnet` binary end to end, plus unit tests of its spec parsers and template renderer.
    .testTarget(
      name: "CNetTests",
      dependencies: [
        "cnet", "CNetCommands", "ContainerNetworkCore", "NetavarkBackend", "NetworkAddress", "NetworkBackendFactory",
        "OrderedJSON", "TestSupport",
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "CNIRuntimeTests",
      dependencies: ["CNIRuntime", "SystemSupport", "OrderedJSON", "TestSupport"],
      swiftSettings: swiftSettings
    ),
    // Guarantees an engine relies on: modes, confinement, hostile input, many processes, SIGKILL (RELIABILITY.md).
    .testTarget(
      name: "ReliabilityTests",
      dependencies: [
        "cnet", "cnet-soak", "example-engine", "ipam-stress", "CNIBackend", "CNetShim", "ContainerNetworkCore",
        "SystemSupport", "NetworkAddress", "NetworkIPAM",
        "TestSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
  ]
)
