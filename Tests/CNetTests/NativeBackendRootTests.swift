import ContainerNetworkCore
import Foundation
import NetworkAddress
import NetworkBackendFactory
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What the native root tests need; outside the suite, whose attribute cannot refer to the suite itself.
private enum NativeRootRequirements {
  /// Under CI this is always true, so a missing busybox fails the test instead of skipping it.
  static let met = TestEnvironment.canRunPrivileged && TestEnvironment.canUse("busybox")
}

/// The native backend (``NetworkBackendFactory`` with `.native`: the netavark backend's store and IPAM with the
/// in-process netlink dataplane) against the real kernel, through the library and through `cnet --backend native`.
///
/// Each test has its own private "host" namespace (`hostNamespacePath`, CNET_HOST_NETNS) that holds its bridges and
/// veth ends, its own container namespaces, and its networks, IPAM database and state files in a temp directory.
/// Every kernel object lives in one of those namespaces, so deleting them (and the directory) leaves nothing behind
/// even when a test fails half-way. Traffic only flows between those namespaces.
@Suite(
  .enabled(if: NativeRootRequirements.met, "needs root (network namespaces and links) and busybox (ping)"),
  .serialized)
struct NativeBackendRootTests {
  // MARK: The test's world

  /// A private host namespace, a temp directory with the networks, IPAM and state files, and the native backend
  /// over them.
  struct World {
    let host: TestNamespace
    let root: TemporaryDirectory
    let backend: any ContainerNetwork

    var configDir: String { root.appending("networks") }
    var runDir: String { root.appending("run") }
    var stateDir: String { NetworkBackendFactory.nativeStateDirectory(runDirectory: runDir) }

    init(host: TestNamespace, root: TemporaryDirectory) throws {
      self.host = host
      self.root = root
      var settings = NetworkSettings()
      settings.backend = .native
      settings.configDirectory = root.appending("networks")
      settings.runDirectory = root.appending("run")
      settings.hostNamespacePath = host.path
      backend = try NetworkBackendFactory.makeBackend(settings)
    }

    /// The global options of `cnet` for the same directories, before the subcommand.
    var globalOptions: [String] { ["--backend", "native", "--config-dir", configDir, "--run-dir", runDir] }

    func create(_ network: Network) async throws -> Network {
      try await backend.create(network)
    }

    func setup(
      _ container: Container, _ networks: KeyValuePairs<String, PerNetworkOptions>
    ) async throws -> [String: StatusBlock] {
      try await backend.setup(
        namespacePath: container.namespace.path,
        options: NetworkOptions(containerID: container.id, containerName: container.name, networks: networks))
    }

    func teardown(_ container: Container, networks: [String], namespaceWillBeRemoved: Bool = false) async throws {
      var options = NetworkOptions(
        containerID: container.id, containerName: container.name, networks: networks.map { NamedPerNetworkOptions($0) })
      options.namespaceWillBeRemoved = namespaceWillBeRemoved
      try await backend.teardown(namespacePath: container.namespace.path, options: options)
    }

    /// Every link of the host namespace.
    func hostLinks() throws -> [ShownLink] { try ShownLink.all(in: host.name) }

    /// The host ends of container veths: the native dataplane names them `cn` + 13 hex digits.
    func vethEnds() throws -> [String] {
      try hostLinks().filter { $0.name.hasPrefix("cn") && $0.kind == "veth" }.map(\.name).sorted()
    }

    /// The bridges of the host namespace.
    func bridges() throws -> [String] {
      try hostLinks().filter { $0.kind == "bridge" }.map(\.name).sorted()
    }

    /// The state files, as `<network>/<container ID>.json`.
    func stateFiles() -> [String] {
      ((try? FileManager.default.subpathsOfDirectory(atPath: stateDir)) ?? []).filter { $0.hasSuffix(".json") }
        .sorted()
    }

    /// A `/proc/sys` value as the host namespace sees it.
    func sysctl(_ path: String) throws -> String {
      try host.run(["cat", path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
  }

  /// A container of a test: its ID, name and namespace.
  struct Container {
    let id: String
    let name: String
    let namespace: TestNamespace

    init(_ namespace: TestNamespace) {
      id = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
      name = UniqueName.make("ctr")
      self.namespace = namespace
    }
  }

  /// Runs `body` in a new world; deletes its host namespace (with every bridge and veth end in it) and its
  /// directory afterwards, even when `body` throws.
  static func withWorld(_ body: (World) async throws -> Void) async throws {
    try #require(TestEnvironment.hasExecutable("busybox"), "busybox is missing: run scripts/install-deps")
    let host = try TestNamespace(prefix: "nbh")
    defer { host.remove() }
    let root = try TemporaryDirectory(prefix: "cnet-native")
    defer { root.remove() }
    try await body(try World(host: host, root: root))
  }

  /// Runs `body` with `count` new container namespaces, deleted afterwards even when `body` throws.
  static func withContainers(_ count: Int, _ body: ([Container]) async throws -> Void) async throws {
    try await withTestNamespaces(count: count, prefix: "nbc") { namespaces in
      try await body(namespaces.map { Container($0) })
    }
  }

  /// A bridge network of the given subnets, created through the library.
  static func bridgeNetwork(
    _ subnets: [String], routes: [Route] = [], internal: Bool = false, options: [String: String] = [:]
  ) -> Network {
    Network(
      name: UniqueName.make("nbn"), driver: "bridge", subnets: subnets.map { Subnet(subnet: IPNetwork($0)!) },
      routes: routes, internal: `internal`, options: options)
  }

  // MARK: What the kernel shows

  /// One address of `ip -j addr`.
  struct ShownAddress: Hashable {
    var ipnet: String
    var family: String
    var scope: String
    var tentative: Bool
    var dadFailed: Bool
  }

  /// One link of `ip -j -d addr`.
  struct ShownLink {
    var name: String
    var kind: String?
    var mac: String
    var master: String?
    var alias: String?
    var up: Bool
    var mtu: Int
    var macvlanMode: String?
    var addresses: [ShownAddress]

    /// The addresses of global scope (not link-local), as `address/prefix`.
    var globalAddresses: [String] { addresses.filter { $0.scope == "global" }.map(\.ipnet) }

    static func all(in namespace: String) throws -> [ShownLink] {
      let output = try runCommand(["ip", "-j", "-d", "-n", namespace, "addr", "show"]).stdout
      let objects = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
      return objects.map { object in
        let info = object["linkinfo"] as? [String: Any]
        let data = info?["info_data"] as? [String: Any]
        let addresses = (object["addr_info"] as? [[String: Any]] ?? []).map { address in
          ShownAddress(
            ipnet: "\(address["local"] as? String ?? "?")/\(address["prefixlen"] as? Int ?? -1)",
            family: address["family"] as? String ?? "", scope: address["scope"] as? String ?? "",
            tentative: address["tentative"] as? Bool ?? false, dadFailed: address["dadfailed"] as? Bool ?? false)
        }
        return ShownLink(
          name: object["ifname"] as? String ?? "", kind: info?["info_kind"] as? String,
          mac: object["address"] as? String ?? "", master: object["master"] as? String,
          alias: object["ifalias"] as? String, up: (object["flags"] as? [String] ?? []).contains("UP"),
          mtu: object["mtu"] as? Int ?? 0, macvlanMode: data?["mode"] as? String, addresses: addresses)
      }
    }

    static func named(_ name: String, in namespace: String) throws -> ShownLink {
      try #require(try all(in: namespace).first { $0.name == name }, "no link \(name) in \(namespace)")
    }
  }

  /// The main table of the namespace as sorted lines `TYPE DST [via GW] [dev DEV] [metric M] [kernel]`; the device
  /// only for unicast routes, `kernel` for the routes the kernel made for an address.
  static func routes(in namespace: String, ipv6: Bool = false) throws -> [String] {
    let output = try runCommand(
      ["ip", "-j", "-n", namespace] + (ipv6 ? ["-6"] : []) + ["route", "show", "table", "main"]
    )
    .stdout
    let objects = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
    return objects.map { route in
      let type = route["type"] as? String ?? "unicast"
      var line = "\(type) \(route["dst"] as? String ?? "?")"
      if let gateway = route["gateway"] as? String { line += " via \(gateway)" }
      if type == "unicast", let device = route["dev"] as? String { line += " dev \(device)" }
      if let metric = route["metric"] as? Int { line += " metric \(metric)" }
      if route["protocol"] as? String == "kernel" { line += " kernel" }
      return line
    }.sorted()
  }

  /// One ICMP echo from `namespace` to `address`, given up after `seconds`; nil when it was answered, else what
  /// ping said.
  static func ping(from namespace: TestNamespace, _ address: String, seconds: Int = 10) throws -> String? {
    // The test process blocks SIGALRM and ping inherits that, so its own -W never fires: `timeout` ends it.
    let result = try namespace.run(
      ["timeout", "-s", "KILL", "\(seconds)", "busybox", "ping", "-c", "1", address], check: false)
    return result.status == 0 && result.stdout.contains("1 packets received")
      ? nil : "ping from \(namespace.name) to \(address): \(result.stdout)\(result.stderr)"
  }

  /// The host end's name the dataplane derives (NativeNames.hostInterface): `cn` and the last 13 hex digits of the
  /// FNV-1a hash of the container ID, a zero byte and the network ID. Restated here so that a test can take it.
  static func hostInterfaceName(containerID: String, networkID: String) -> String {
    let bytes = Array(containerID.utf8) + [0] + Array(networkID.utf8)
    let hash = bytes.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    let hex = String(hash, radix: 16)
    return "cn" + (String(repeating: "0", count: 16 - hex.count) + hex).suffix(13)
  }

  /// The bridge's fixed MAC the dataplane derives from its name (NativeNames.bridgeMAC): locally administered,
  /// then the five low bytes of the FNV-1a hash of the name, lowest first.
  static func bridgeMAC(_ name: String) -> String {
    let hash = Array(name.utf8).reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    let bytes: [UInt8] = [0x02] + (0..<5).map { UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0))) }
    return bytes.map { String(format: "%02x", $0) }.joined(separator: ":")
  }

  // MARK: 1. The status block is what the kernel shows

  @Test func theStatusBlockIsWhatTheNamespaceShows() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let container = containers[0]
        let network = try await world.create(
          Self.bridgeNetwork(
            ["10.77.1.0/24"],
            routes: [
              Route(destination: IPNetwork("192.0.2.0/24")!, gateway: IPAddress("10.77.1.254")!),
              Route(destination: IPNetwork("198.51.100.0/24")!, gateway: IPAddress("10.77.1.253")!, metric: 50),
            ]))
        #expect(network.subnets.map(\.gateway) == [IPAddress("10.77.1.1")!])
        #expect(try world.bridges() == [], "a bridge exists before the network's first container")

        let status = try await world.setup(container, [network.name: PerNetworkOptions()])
        #expect(Array(status.keys) == [network.name])
        let interfaces = try #require(status[network.name]?.interfaces)
        #expect(Array(interfaces.keys) == ["eth0"])
        let eth0 = try #require(interfaces["eth0"])
        let mac = try #require(eth0.macAddress)
        #expect(eth0.subnets.map(\.gateway) == [IPAddress("10.77.1.1")!])
        let ipnet = try #require(eth0.subnets.first?.ipnet)
        #expect(eth0.subnets.count == 1)
        #expect(ipnet.prefixLength == 24 && IPNetwork("10.77.1.0/24")!.contains(ipnet.address), "\(ipnet)")

        // The namespace: eth0 with that MAC and exactly that address, up, and lo.
        let shown = try ShownLink.all(in: container.namespace.name)
        #expect(shown.map(\.name).sorted() == ["eth0", "lo"])
        let kernelEth0 = try ShownLink.named("eth0", in: container.namespace.name)
        #expect(kernelEth0.mac == mac.description)
        #expect(kernelEth0.globalAddresses == [ipnet.description])
        #expect(kernelEth0.up)
        #expect(kernelEth0.kind == "veth")
        #expect(try ShownLink.named("lo", in: container.namespace.name).up)
        // Its routes: the default via the gateway with netavark's metric 100, the static ones with theirs.
        #expect(
          try Self.routes(in: container.namespace.name) == [
            "unicast 10.77.1.0/24 dev eth0 kernel",
            "unicast 192.0.2.0/24 via 10.77.1.254 dev eth0 metric 100",
            "unicast 198.51.100.0/24 via 10.77.1.253 dev eth0 metric 50",
            "unicast default via 10.77.1.1 dev eth0 metric 100",
          ])

        // The host side: the bridge (fixed MAC, the gateway, up), and one veth end on it tagged as this container's.
        let bridge = try ShownLink.named(network.networkInterface, in: world.host.name)
        #expect(bridge.kind == "bridge")
        #expect(bridge.up)
        #expect(bridge.globalAddresses == ["10.77.1.1/24"])
        #expect(bridge.mac == Self.bridgeMAC(network.networkInterface))
        let hostEnd = Self.hostInterfaceName(containerID: container.id, networkID: network.id)
        #expect(try world.vethEnds() == [hostEnd])
        let end = try ShownLink.named(hostEnd, in: world.host.name)
        #expect(end.master == network.networkInterface)
        #expect(end.alias == "cnet:\(network.id.prefix(12)):\(container.id.prefix(12))")
        #expect(end.up)
        // The state file, complete.
        #expect(world.stateFiles() == ["\(network.name)/\(container.id).json"])
        let state = try #require(
          try parseJSON(
            String(contentsOfFile: "\(world.stateDir)/\(network.name)/\(container.id).json", encoding: .utf8))
            as? [String: Any])
        #expect(state["phase"] as? String == "done")
        #expect(state["host_interface"] as? String == hostEnd)
        #expect(state["addresses"] as? [String] == [ipnet.description])

        try await world.teardown(container, networks: [network.name])
        #expect(try container.namespace.linkNames() == ["lo"])
        #expect(try world.vethEnds() == [])
        #expect(world.stateFiles() == [])
        // The bridge stays until the network is removed.
        #expect(try world.bridges() == [network.networkInterface])
      }
    }
  }

  // MARK: 2. Traffic

  @Test func containersReachEachOtherAndTheHostReachesThem() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(2) { containers in
        let network = try await world.create(Self.bridgeNetwork(["10.77.2.0/24"]))
        var addresses: [String] = []
        for container in containers {
          let status = try await world.setup(container, [network.name: PerNetworkOptions()])
          let address = try #require(status[network.name]?.interfaces["eth0"]?.subnets.first?.ipnet.address)
          addresses.append(address.description)
        }
        #expect(Set(addresses).count == 2, "\(addresses)")

        for (from, to) in [(0, 1), (1, 0)] {
          #expect(try Self.ping(from: containers[from].namespace, addresses[to]) == nil)
        }
        // The private host namespace reaches both through the bridge, and each container reaches its gateway.
        for (container, address) in zip(containers, addresses) {
          #expect(try Self.ping(from: world.host, address) == nil)
          #expect(try Self.ping(from: container.namespace, "10.77.2.1") == nil)
        }

        for container in containers { try await world.teardown(container, networks: [network.name]) }
        #expect(try world.vethEnds() == [])
        #expect(
          try Self.ping(from: world.host, addresses[0], seconds: 2) != nil, "a torn-down container still answers")
      }
    }
  }

  // MARK: 3. Static addresses, MAC, interface names, dual stack

  @Test func staticAddressesMACInterfaceNamesAndDualStack() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let container = containers[0]
        let twoSubnets = try await world.create(Self.bridgeNetwork(["10.77.3.0/24", "10.77.4.0/24"]))
        let dual = try await world.create(Self.bridgeNetwork(["10.77.5.0/24", "fd77:5::/64"]))
        #expect(dual.ipv6Enabled)
        let mac = MACAddress("02:42:0a:4d:03:14")!
        let status = try await world.setup(
          container,
          [
            twoSubnets.name: PerNetworkOptions(
              // Two in one subnet as well: our IPAM takes several, and each is configured.
              staticIPs: [IPAddress("10.77.3.20")!, IPAddress("10.77.4.30")!, IPAddress("10.77.3.21")!],
              staticMAC: mac, interfaceName: "data0"),
            dual.name: PerNetworkOptions(staticIPs: [IPAddress("fd77:5::20")!], interfaceName: "both1"),
          ])

        let first = try #require(status[twoSubnets.name]?.interfaces["data0"], "\(status)")
        #expect(first.subnets.map(\.ipnet.description) == ["10.77.3.20/24", "10.77.3.21/24", "10.77.4.30/24"])
        #expect(
          first.subnets.map(\.gateway) == [IPAddress("10.77.3.1")!, IPAddress("10.77.3.1")!, IPAddress("10.77.4.1")!])
        #expect(first.macAddress == mac)
        let second = try #require(status[dual.name]?.interfaces["both1"], "\(status)")
        // IPAM gives the IPv4 subnet an address too; the static one goes to the IPv6 subnet.
        #expect(second.subnets.count == 2, "\(second.subnets)")
        let v4 = try #require(second.subnets.first { $0.ipnet.address.isIPv4 })
        #expect(IPNetwork("10.77.5.0/24")!.contains(v4.ipnet.address) && v4.ipnet.prefixLength == 24)
        #expect(
          second.subnets.contains(NetAddress(ipnet: IPNetwork("fd77:5::20/64")!, gateway: IPAddress("fd77:5::1"))))
        #expect(second.macAddress != mac)

        let namespace = container.namespace.name
        #expect(try ShownLink.all(in: namespace).map(\.name).sorted() == ["both1", "data0", "lo"])
        let data0 = try ShownLink.named("data0", in: namespace)
        #expect(data0.mac == mac.description)
        #expect(data0.globalAddresses.sorted() == ["10.77.3.20/24", "10.77.3.21/24", "10.77.4.30/24"])
        let both1 = try ShownLink.named("both1", in: namespace)
        #expect(both1.mac == second.macAddress?.description)
        #expect(Set(both1.globalAddresses) == Set(second.subnets.map(\.ipnet.description)))
        // The IPv6 address is usable at once: no duplicate address detection holds it back.
        let v6 = try #require(both1.addresses.first { $0.ipnet == "fd77:5::20/64" })
        #expect(!v6.tentative && !v6.dadFailed, "\(v6)")
        #expect(
          try Self.routes(in: namespace, ipv6: true).contains("unicast default via fd77:5::1 dev both1 metric 100"))
        // The bridge's IPv6 gateway is not tentative either: the container reaches it over IPv6.
        let dualBridge = try ShownLink.named(dual.networkInterface, in: world.host.name)
        let gateway6 = try #require(dualBridge.addresses.first { $0.ipnet == "fd77:5::1/64" })
        #expect(!gateway6.tentative, "\(gateway6)")
        #expect(try Self.ping(from: container.namespace, "fd77:5::1") == nil)
        #expect(try Self.ping(from: world.host, "fd77:5::20") == nil)
        #expect(try Self.ping(from: world.host, "10.77.4.30") == nil)

        try await world.teardown(container, networks: [twoSubnets.name, dual.name])
        #expect(try container.namespace.linkNames() == ["lo"])
        #expect(try world.vethEnds() == [])
        #expect(world.stateFiles() == [])
      }
    }
  }

  // MARK: 4. Routes, no_default_route, metric, internal

  /// A network's route settings and the IPv4 and IPv6 main tables a container on it must get.
  enum RouteScenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// Unicast with and without a metric, blackhole, unreachable and prohibit, IPv4 and IPv6.
    case everyRouteType
    /// `-o no_default_route=true`: the static route, no default.
    case noDefaultRoute
    /// `-o metric=N`: the default routes and the metric-less static route take it.
    case metricOption
    /// `--internal`: no default route; forwarding off on the bridge.
    case `internal`

    var testDescription: String { rawValue }

    var network: Network {
      let route = Route(destination: IPNetwork("192.0.2.0/24")!, gateway: IPAddress("10.77.6.254")!)
      switch self {
      case .everyRouteType:
        return NativeBackendRootTests.bridgeNetwork(
          ["10.77.6.0/24", "fd77:6::/64"],
          routes: [
            route,
            Route(destination: IPNetwork("198.18.0.0/15")!, gateway: IPAddress("10.77.6.253")!, metric: 300),
            Route(destination: IPNetwork("198.51.100.0/24")!, routeType: .blackhole),
            Route(destination: IPNetwork("203.0.113.0/24")!, metric: 7, routeType: .unreachable),
            Route(destination: IPNetwork("100.64.0.0/10")!, routeType: .prohibit),
            Route(destination: IPNetwork("2001:db8:1::/48")!, gateway: IPAddress("fd77:6::fe")!, metric: 20),
            Route(destination: IPNetwork("2001:db8:2::/48")!, routeType: .blackhole),
            Route(destination: IPNetwork("2001:db8:3::/48")!, routeType: .unreachable),
            Route(destination: IPNetwork("2001:db8:4::/48")!, routeType: .prohibit),
          ])
      case .noDefaultRoute:
        return NativeBackendRootTests.bridgeNetwork(
          ["10.77.6.0/24", "fd77:6::/64"], routes: [route], options: ["no_default_route": "true"])
      case .metricOption:
        return NativeBackendRootTests.bridgeNetwork(
          ["10.77.6.0/24", "fd77:6::/64"], routes: [route], options: ["metric": "555"])
      case .internal:
        return NativeBackendRootTests.bridgeNetwork(["10.77.6.0/24", "fd77:6::/64"], routes: [route], internal: true)
      }
    }

    /// The IPv4 routes besides the subnet's own.
    var expectedIPv4: [String] {
      switch self {
      case .everyRouteType:
        [
          "blackhole 198.51.100.0/24 metric 100", "prohibit 100.64.0.0/10 metric 100",
          "unicast 192.0.2.0/24 via 10.77.6.254 dev eth0 metric 100",
          "unicast 198.18.0.0/15 via 10.77.6.253 dev eth0 metric 300",
          "unicast default via 10.77.6.1 dev eth0 metric 100", "unreachable 203.0.113.0/24 metric 7",
        ]
      case .noDefaultRoute, .internal: ["unicast 192.0.2.0/24 via 10.77.6.254 dev eth0 metric 100"]
      case .metricOption:
        [
          "unicast 192.0.2.0/24 via 10.77.6.254 dev eth0 metric 555",
          "unicast default via 10.77.6.1 dev eth0 metric 555",
        ]
      }
    }

    /// The IPv6 routes besides the kernel's (the subnet's, link-local, loopback).
    var expectedIPv6: [String] {
      switch self {
      case .everyRouteType:
        [
          "blackhole 2001:db8:2::/48 metric 100", "prohibit 2001:db8:4::/48 metric 100",
          "unicast 2001:db8:1::/48 via fd77:6::fe dev eth0 metric 20",
          "unicast default via fd77:6::1 dev eth0 metric 100", "unreachable 2001:db8:3::/48 metric 100",
        ]
      case .noDefaultRoute, .internal: []
      case .metricOption: ["unicast default via fd77:6::1 dev eth0 metric 555"]
      }
    }
  }

  @Test(arguments: RouteScenario.allCases)
  func routesOfEveryKind(_ scenario: RouteScenario) async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let container = containers[0]
        if scenario == .internal {
          // Routing on in the host namespace, so that a new bridge would forward unless the dataplane says no.
          try world.host.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        }
        let network = try await world.create(scenario.network)
        let status = try await world.setup(container, [network.name: PerNetworkOptions()])
        let eth0 = try #require(status[network.name]?.interfaces["eth0"])
        #expect(eth0.subnets.count == 2)
        let namespace = container.namespace.name

        let ipv4 = try Self.routes(in: namespace)
        #expect(ipv4 == (scenario.expectedIPv4 + ["unicast 10.77.6.0/24 dev eth0 kernel"]).sorted())
        let ipv6 = try Self.routes(in: namespace, ipv6: true).filter { !$0.hasSuffix(" kernel") }
        #expect(ipv6 == scenario.expectedIPv6.sorted())
        if scenario != .everyRouteType && scenario != .metricOption {
          #expect(!(ipv4 + ipv6).contains { $0.contains("default") })
        }

        let forwarding = try world.sysctl("/proc/sys/net/ipv4/conf/\(network.networkInterface)/forwarding")
        #expect(forwarding == (scenario == .internal ? "0" : "1"), "forwarding of \(network.networkInterface)")
        if scenario == .everyRouteType {
          // Each kind acts as the kernel defines it: the send itself fails, with the kind's own error.
          for (address, reason) in [
            ("198.51.100.9", "Invalid argument"), ("203.0.113.9", "No route to host"),
            ("100.64.0.9", "Permission denied"),
          ] {
            let refused = try container.namespace.run(
              ["timeout", "-s", "KILL", "10", "busybox", "ping", "-c", "1", address], check: false)
            #expect(
              refused.status != 0 && refused.stderr.contains("sendto: \(reason)"), "\(address): \(refused.stderr)")
          }
        }

        try await world.teardown(container, networks: [network.name])
        #expect(try container.namespace.linkNames() == ["lo"])
        #expect(try world.vethEnds() == [])
        #expect(world.stateFiles() == [])

        /// The namespace holds no route of the network any more, and it can join the network again (what
        /// `podman network disconnect` and `connect` do while the container runs).
        func leftNoRouteAndJoinsAgain() async throws {
          #expect(try Self.routes(in: namespace) == [])
          #expect(try Self.routes(in: namespace, ipv6: true).filter { !$0.hasSuffix(" kernel") } == [])
          let again = try await world.setup(container, [network.name: PerNetworkOptions()])
          #expect(again[network.name]?.interfaces["eth0"]?.subnets.count == 2)
          try await world.teardown(container, networks: [network.name])
        }
        // Blackhole, unreachable and prohibit routes belong to no link: teardown deletes them itself.
        try await leftNoRouteAndJoinsAgain()
        #expect(try container.namespace.linkNames() == ["lo"])
        #expect(try world.vethEnds() == [])
      }
    }
  }

  // MARK: 5. Teardown modes

  @Test(arguments: [false, true])
  func teardownLeavesNoLinkAndNoStateFile(namespaceWillBeRemoved: Bool) async throws {
    try await Self.withWorld { world in
      let first = try await world.create(Self.bridgeNetwork(["10.77.7.0/24"]))
      let second = try await world.create(Self.bridgeNetwork(["10.77.8.0/24", "fd77:8::/64"]))
      let networks = [first.name, second.name]
      let staticIPs = [IPAddress("10.77.7.7")!, IPAddress("10.77.8.8")!]

      // Torn down with the namespace alive, twice, then the namespace is deleted.
      let namespace = try TestNamespace(prefix: "nbt")
      defer { namespace.remove() }
      let container = Container(namespace)
      _ = try await world.setup(
        container,
        [
          first.name: PerNetworkOptions(staticIPs: [staticIPs[0]]),
          second.name: PerNetworkOptions(staticIPs: [staticIPs[1]]),
        ])
      let ends = try world.vethEnds()
      #expect(ends.count == 2)
      #expect(world.stateFiles().count == 2)
      try await world.teardown(container, networks: networks, namespaceWillBeRemoved: namespaceWillBeRemoved)
      #expect(world.stateFiles() == [])
      if namespaceWillBeRemoved {
        // Only taken down: the namespace's deletion takes the pairs with it.
        for end in ends { #expect(try !ShownLink.named(end, in: world.host.name).up, "\(end) is still up") }
      } else {
        #expect(try world.vethEnds() == [])
        #expect(try namespace.linkNames() == ["lo"])
      }
      try await world.teardown(container, networks: networks, namespaceWillBeRemoved: namespaceWillBeRemoved)
      namespace.remove()
      // The kernel dismantles a deleted namespace's links in the background.
      #expect(try await waitUntil(seconds: 20) { try world.vethEnds() == [] }, "\((try? world.vethEnds()) ?? [])")
      #expect(world.stateFiles() == [])

      // The namespace deleted before any teardown: the teardown still succeeds and removes everything.
      let gone = try TestNamespace(prefix: "nbg")
      defer { gone.remove() }
      let orphan = Container(gone)
      _ = try await world.setup(
        orphan,
        [
          first.name: PerNetworkOptions(staticIPs: [staticIPs[0]]),
          second.name: PerNetworkOptions(staticIPs: [staticIPs[1]]),
        ])
      #expect(try world.vethEnds().count == 2)
      gone.remove()
      #expect(!FileManager.default.fileExists(atPath: gone.path))
      try await world.teardown(orphan, networks: networks, namespaceWillBeRemoved: namespaceWillBeRemoved)
      try await world.teardown(orphan, networks: networks, namespaceWillBeRemoved: namespaceWillBeRemoved)
      #expect(try await waitUntil(seconds: 20) { try world.vethEnds() == [] }, "\((try? world.vethEnds()) ?? [])")
      #expect(world.stateFiles() == [])

      // The addresses are free again.
      try await Self.withContainers(1) { containers in
        let status = try await world.setup(
          containers[0],
          [
            first.name: PerNetworkOptions(staticIPs: [staticIPs[0]]),
            second.name: PerNetworkOptions(staticIPs: [staticIPs[1]]),
          ])
        #expect(status[first.name]?.interfaces["eth0"]?.subnets.map(\.ipnet.address) == [staticIPs[0]])
        #expect(status[second.name]?.interfaces["eth1"]?.subnets.first?.ipnet.address == staticIPs[1])
        try await world.teardown(containers[0], networks: networks)
      }
      #expect(try world.vethEnds() == [])
      #expect(world.stateFiles() == [])
      #expect(try world.bridges() == [first.networkInterface, second.networkInterface].sorted())
    }
  }

  // MARK: 6. A failure half-way leaves nothing

  /// How the second network of a two-network setup fails, after the first is complete.
  enum HalfwayFailure: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// Its bridge's name is taken by a link that is no bridge.
    case bridgeNameTaken
    /// The name of its veth's host end is taken by a link that is not the container's.
    case hostEndNameTaken
    /// Its static route's gateway is on no link of the container: the kernel refuses the route.
    case unreachableRouteGateway
    /// Its macvlan parent is gone.
    case macvlanParentGone
    /// The container already has an interface of its interface name.
    case interfaceNameTaken

    var testDescription: String { rawValue }

    /// Part of the error the setup must throw.
    var message: String {
      switch self {
      case .bridgeNameTaken: "is not a bridge"
      case .hostEndNameTaken: "is not this container's"
      case .unreachableRouteGateway: "configuring eth1"
      case .macvlanParentGone: "does not exist"
      case .interfaceNameTaken: "interface eth1 already exists"
      }
    }
  }

  @Test(arguments: HalfwayFailure.allCases)
  func aSetupThatFailsHalfWayLeavesNothing(_ failure: HalfwayFailure) async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let container = containers[0]
        let good = try await world.create(Self.bridgeNetwork(["10.77.9.0/24"]))
        let bad: Network
        switch failure {
        case .bridgeNameTaken, .hostEndNameTaken, .interfaceNameTaken:
          bad = try await world.create(Self.bridgeNetwork(["10.77.10.0/24"]))
        case .unreachableRouteGateway:
          bad = try await world.create(
            Self.bridgeNetwork(
              ["10.77.10.0/24"],
              routes: [Route(destination: IPNetwork("198.51.100.0/24")!, gateway: IPAddress("192.0.2.1")!)]))
        case .macvlanParentGone:
          let parent = UniqueName.make("nbp")
          try world.host.run(["ip", "link", "add", parent, "type", "veth", "peer", "name", parent + "x"])
          bad = try await world.create(
            Network(
              name: UniqueName.make("nbm"), driver: "macvlan", networkInterface: parent,
              subnets: [Subnet(subnet: IPNetwork("10.77.10.0/24")!)]))
          try world.host.run(["ip", "link", "delete", parent])
        }
        switch failure {
        case .bridgeNameTaken:
          try world.host.run([
            "ip", "link", "add", bad.networkInterface, "type", "veth", "peer", "name", UniqueName.make("nbx"),
          ])
        case .hostEndNameTaken:
          let name = Self.hostInterfaceName(containerID: container.id, networkID: bad.id)
          try world.host.run(["ip", "link", "add", name, "type", "veth", "peer", "name", UniqueName.make("nbx")])
        case .interfaceNameTaken:
          try container.namespace.run([
            "ip", "link", "add", "eth1", "type", "veth", "peer", "name", UniqueName.make("nbx"),
          ])
        case .unreachableRouteGateway, .macvlanParentGone:
          break
        }
        let hostBefore = try world.hostLinks().filter { $0.kind != "bridge" }.map(\.name).sorted()
        let containerBefore = try container.namespace.linkNames().sorted()
        let address = IPAddress("10.77.9.9")!

        do {
          _ = try await world.setup(
            container, [good.name: PerNetworkOptions(staticIPs: [address]), bad.name: PerNetworkOptions()])
          Issue.record("the setup succeeded")
        } catch {
          #expect("\(error)".contains(failure.message), "\(error)")
        }

        // Nothing of either network stays: no veth end, no state file, no interface in the container.
        #expect(try world.hostLinks().filter { $0.kind != "bridge" }.map(\.name).sorted() == hostBefore)
        #expect(try world.vethEnds() == hostBefore.filter { $0.hasPrefix("cn") })
        #expect(try container.namespace.linkNames().sorted() == containerBefore)
        #expect(try Self.routes(in: container.namespace.name) == [])
        #expect(world.stateFiles() == [])

        // The first network's address was released: the same container takes it again.
        let status = try await world.setup(container, [good.name: PerNetworkOptions(staticIPs: [address])])
        #expect(status[good.name]?.interfaces["eth0"]?.subnets.map(\.ipnet.address) == [address])
        #expect(try Self.ping(from: world.host, address.description) == nil)
        try await world.teardown(container, networks: [good.name])
        #expect(try container.namespace.linkNames().sorted() == containerBefore)
        #expect(world.stateFiles() == [])
      }
    }
  }

  // MARK: 7. Eight processes at once

  @Test func eightProcessesSetUpOnANewNetworkAtOnce() async throws {
    try await Self.withWorld { world in
      let sandbox = try CNetSandbox(hostNamespace: world.host.path)
      defer { sandbox.remove() }
      try await Self.withContainers(8) { containers in
        let name = UniqueName.make("nbc")
        let created = try sandbox.raw(
          world.globalOptions + ["create", "--disable-dns", "--subnet", "10.77.11.0/24", name])
        try #require(created.status == 0, "\(created.stderr)")
        let network = try await world.backend.inspect(name)
        #expect(try world.bridges() == [])

        func arguments(_ command: String, _ container: Container) -> [String] {
          world.globalOptions + [
            command, "--container-id", container.id, "--container-name", container.name, "--network", name,
            container.namespace.path,
          ]
        }
        let processes = try containers.map { try BackgroundCommand(sandbox, arguments("setup", $0)) }
        defer { processes.forEach { $0.kill() } }
        var addresses: [String] = []
        for (container, process) in zip(containers, processes) {
          let status = await process.wait()
          #expect(status == 0, "setup of \(container.name): \(process.stderr())")
          #expect(process.stderr() == "")
          guard status == 0 else { continue }
          let attached = try NetavarkBackendRootTests.attached(process.stdout(), network: name)
          #expect(attached.interface == "eth0")
          let ipnet = try #require(attached.ipnets.first)
          #expect(ipnet.hasPrefix("10.77.11.") && ipnet.hasSuffix("/24"), "\(ipnet)")
          #expect(try ShownLink.named("eth0", in: container.namespace.name).globalAddresses == [ipnet])
          addresses += attached.addresses
        }
        #expect(addresses.count == 8)
        #expect(Set(addresses).count == addresses.count, "an address was handed out twice: \(addresses.sorted())")
        // One bridge, every veth end on it.
        #expect(try world.bridges() == [network.networkInterface])
        let ends = try world.hostLinks().filter { $0.name.hasPrefix("cn") }
        #expect(ends.count == 8)
        #expect(ends.allSatisfy { $0.master == network.networkInterface && $0.up }, "\(ends.map(\.name))")
        #expect(world.stateFiles().count == 8)
        #expect(try Self.ping(from: containers[0].namespace, try #require(addresses.last)) == nil)

        let teardowns = try containers.map { try BackgroundCommand(sandbox, arguments("teardown", $0)) }
        defer { teardowns.forEach { $0.kill() } }
        for (container, process) in zip(containers, teardowns) {
          #expect(await process.wait() == 0, "teardown of \(container.name): \(process.stderr())")
          #expect(process.stdout() == "" && process.stderr() == "")
          #expect(try container.namespace.linkNames() == ["lo"])
        }
        #expect(try world.vethEnds() == [])
        #expect(world.stateFiles() == [])
      }
    }
  }

  // MARK: 8. Macvlan

  @Test func macvlanContainersOnAVethParentReachEachOther() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(2) { containers in
        let parent = UniqueName.make("nbp")
        try world.host.run(["ip", "link", "add", parent, "type", "veth", "peer", "name", parent + "x"])
        try world.host.run(["ip", "link", "set", parent, "up"])
        try world.host.run(["ip", "link", "set", parent + "x", "up"])
        let hostBefore = try world.hostLinks().map(\.name).sorted()
        let network = try await world.create(
          Network(
            name: UniqueName.make("nbm"), driver: "macvlan", networkInterface: parent,
            subnets: [Subnet(subnet: IPNetwork("10.77.12.0/24")!)], options: ["mode": "bridge"]))
        #expect(network.networkInterface == parent)

        var addresses: [String] = []
        for container in containers {
          let status = try await world.setup(container, [network.name: PerNetworkOptions()])
          let eth0 = try #require(status[network.name]?.interfaces["eth0"], "\(status)")
          let shown = try ShownLink.named("eth0", in: container.namespace.name)
          #expect(shown.kind == "macvlan")
          #expect(shown.macvlanMode == "bridge")
          #expect(shown.mac == eth0.macAddress?.description)
          #expect(shown.globalAddresses == eth0.subnets.map(\.ipnet.description))
          #expect(
            try Self.routes(in: container.namespace.name).contains("unicast default via 10.77.12.1 dev eth0 metric 100")
          )
          addresses += eth0.subnets.map(\.ipnet.address.description)
        }
        #expect(Set(addresses).count == 2, "\(addresses)")
        // No host-side link of the container's.
        #expect(try world.hostLinks().map(\.name).sorted() == hostBefore)
        #expect(world.stateFiles().count == 2)
        #expect(try Self.ping(from: containers[0].namespace, addresses[1]) == nil)
        #expect(try Self.ping(from: containers[1].namespace, addresses[0]) == nil)

        for container in containers {
          try await world.teardown(container, networks: [network.name])
          #expect(try container.namespace.linkNames() == ["lo"])
        }
        #expect(world.stateFiles() == [])
        #expect(try world.hostLinks().map(\.name).sorted() == hostBefore)
      }
    }
  }

  // MARK: 9. A thousand cycles

  /// What the process and the host namespace hold between cycles.
  struct Footprint: CustomStringConvertible {
    var descriptors: Int
    var threads: Int
    var residentBytes: Int
    var hostLinks: [String]
    var stateFiles: Int

    init(_ world: World) throws {
      descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
      threads = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count
      let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
      residentBytes = (Int(statm[1]) ?? 0) * sysconf(Int32(_SC_PAGESIZE))
      hostLinks = try world.hostLinks().map(\.name).sorted()
      stateFiles = world.stateFiles().count
    }

    var description: String {
      "\(descriptors) fds, \(threads) threads, \(residentBytes >> 20) MiB resident, links \(hostLinks), \(stateFiles) state files"
    }
  }

  @Test func aThousandCyclesGrowNothing() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(4) { containers in
        let network = try await world.create(Self.bridgeNetwork(["10.77.13.0/24"]))
        let clock = ContinuousClock()
        let started = clock.now
        /// One container's setup and explicit teardown; the namespaces are reused, the container IDs are new.
        func cycle(_ index: Int) async throws {
          let container = Container(containers[index % containers.count].namespace)
          let status = try await world.setup(container, [network.name: PerNetworkOptions()])
          try #require(status[network.name]?.interfaces["eth0"]?.subnets.count == 1, "cycle \(index): \(status)")
          try await world.teardown(container, networks: [network.name])
        }
        let warmUp = 100
        for index in 0..<warmUp { try await cycle(index) }
        let baseline = try Footprint(world)
        var samples: [Footprint] = []
        for index in warmUp..<1000 {
          try await cycle(index)
          if (index + 1) % 300 == 0 { samples.append(try Footprint(world)) }
        }
        let final = try Footprint(world)
        print(
          "1000 native setup/teardown cycles in \(clock.now - started); after warm-up: \(baseline); at the end: \(final)"
        )

        #expect(baseline.hostLinks == ["lo", network.networkInterface].sorted())
        for sample in samples + [final] {
          #expect(sample.hostLinks == baseline.hostLinks, "\(sample)")
          #expect(sample.stateFiles == 0, "\(sample)")
        }
        // One descriptor or thread per cycle would add 900; other suites may hold a few of their own meanwhile.
        #expect(final.descriptors <= baseline.descriptors + 32, "descriptors: \(baseline) -> \(final)")
        #expect(final.threads <= baseline.threads + 16, "threads: \(baseline) -> \(final)")
        #expect(final.residentBytes <= baseline.residentBytes + 48 << 20, "memory: \(baseline) -> \(final)")
        for container in containers { #expect(try container.namespace.linkNames() == ["lo"]) }
      }
    }
  }

  // MARK: 10. Removing the network

  @Test func removingTheNetworkDeletesItsBridge() async throws {
    try await Self.withWorld { world in
      let sandbox = try CNetSandbox(hostNamespace: world.host.path)
      defer { sandbox.remove() }
      func cnet(_ arguments: [String]) throws -> String {
        let result = try sandbox.raw(world.globalOptions + arguments)
        #expect(result.status == 0, "cnet \(arguments): \(result.stderr)")
        #expect(result.stderr == "")
        return result.stdout
      }
      let name = UniqueName.make("nbr")
      #expect(
        try cnet([
          "create", "--disable-dns", "--subnet", "10.77.14.0/24", "--route", "192.0.2.0/24,10.77.14.254,55", "-o",
          "metric=200", name,
        ]) == "\(name)\n")
      let bridge = try await world.backend.inspect(name).networkInterface
      let namespace = try TestNamespace(prefix: "nbr")
      defer { namespace.remove() }
      let container = Container(namespace)
      let attach = [
        "--container-id", container.id, "--container-name", container.name, "--network", name, namespace.path,
      ]
      let output = try cnet(["setup"] + attach)
      let attached = try NetavarkBackendRootTests.attached(output, network: name)
      #expect(try ShownLink.named("eth0", in: namespace.name).globalAddresses == attached.ipnets)
      #expect(
        try Self.routes(in: namespace.name) == [
          "unicast 10.77.14.0/24 dev eth0 kernel", "unicast 192.0.2.0/24 via 10.77.14.254 dev eth0 metric 55",
          "unicast default via 10.77.14.1 dev eth0 metric 200",
        ])
      #expect(try world.bridges() == [bridge])

      #expect(try cnet(["teardown", "--netns-will-be-removed"] + attach) == "")
      namespace.remove()
      #expect(try await waitUntil(seconds: 20) { try world.vethEnds() == [] }, "\((try? world.vethEnds()) ?? [])")
      #expect(try world.bridges() == [bridge], "the bridge went before the network")

      #expect(try cnet(["rm", name]) == "\(name)\n")
      #expect(try world.bridges() == [])
      #expect(try world.hostLinks().map(\.name) == ["lo"])
      #expect(!FileManager.default.fileExists(atPath: "\(world.stateDir)/\(name)"))
    }
  }
}
