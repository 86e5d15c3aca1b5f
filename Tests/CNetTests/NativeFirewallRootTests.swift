import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

private enum NativeFirewallRequirements {
  /// Under CI this is always true, so a missing tool fails the test instead of skipping it.
  static let met =
    TestEnvironment.canRunPrivileged && TestEnvironment.canUse("busybox") && TestEnvironment.canUse("/usr/sbin/nft")
    && TestEnvironment.canUse("curl")
}

/// The native firewall (`inet cnet`) against the real kernel, as traffic: published ports, masquerade, isolation,
/// internal networks, reload, coexistence with other rules, crashes and a thousand cycles.
///
/// Each test has the private host namespace of ``NativeBackendRootTests/World`` and, where traffic must come from
/// another host, an "outside" namespace joined to it by a veth (192.0.2.1 on the host, 192.0.2.2 outside; with IPv6
/// 2001:db8:f::1 and ::2). Every server runs in a namespace of the test and is killed when it ends.
@Suite(
  .enabled(if: NativeFirewallRequirements.met, "needs root, busybox, curl and nft"),
  .serialized)
struct NativeFirewallRootTests {
  typealias World = NativeBackendRootTests.World
  typealias Container = NativeBackendRootTests.Container

  static let hostUplink = "192.0.2.1"
  static let outsideAddress = "192.0.2.2"
  static let hostUplink6 = "2001:db8:f::1"

  /// A namespace beside the host joined to it by a veth: another machine on the host's network.
  struct Outside {
    let namespace: TestNamespace

    init(_ world: World) throws {
      namespace = try TestNamespace(prefix: "nfo")
      let link = UniqueName.make("up")
      try world.host.run(["ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", namespace.name])
      try world.host.run(["ip", "addr", "add", "\(NativeFirewallRootTests.hostUplink)/24", "dev", link])
      try world.host.run(["ip", "addr", "add", "\(NativeFirewallRootTests.hostUplink6)/64", "dev", link, "nodad"])
      try world.host.run(["ip", "link", "set", link, "up"])
      try namespace.run(["ip", "addr", "add", "\(NativeFirewallRootTests.outsideAddress)/24", "dev", "eth0"])
      try namespace.run(["ip", "addr", "add", "2001:db8:f::2/64", "dev", "eth0", "nodad"])
      try namespace.run(["ip", "link", "set", "eth0", "up"])
    }

    func remove() { namespace.remove() }
  }

  typealias Server = NamespaceServer

  /// busybox httpd serving `text` on each port, and a CGI that answers the client's address as the server saw it.
  static func webServers(in namespace: TestNamespace, ports: [Int], text: String, world: World) throws -> [Server] {
    let site = world.root.appending("site-\(namespace.name)")
    try FileManager.default.createDirectory(atPath: "\(site)/cgi-bin", withIntermediateDirectories: true)
    try text.write(toFile: "\(site)/index.html", atomically: true, encoding: .utf8)
    try "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n".write(
      toFile: "\(site)/cgi-bin/peer", atomically: true, encoding: .utf8)
    chmod("\(site)/cgi-bin/peer", 0o755)
    return try ports.map { try Server(in: namespace, ["busybox", "httpd", "-f", "-p", "\($0)", "-h", site]) }
  }

  /// What `curl` got from `url` in `namespace`, waiting up to `seconds` for `expected` (the server may be starting);
  /// nil when nothing came.
  @discardableResult
  static func fetch(
    _ url: String, from namespace: TestNamespace, expecting expected: String? = nil, seconds: Double = 10
  )
    async -> String?
  {
    var text: String?
    _ = await waitUntil(seconds: seconds) {
      let result = try? namespace.run(["curl", "-s", "-g", "--max-time", "2", url], check: false)
      text = result?.status == 0 ? result?.stdout : nil
      return text != nil && (expected == nil || text == expected)
    }
    return text
  }

  /// The client address that the CGI of ``webServers(in:ports:text:world:)`` at `url` saw, as an IPv4 address when it
  /// was one (busybox httpd listens on an IPv6 socket and reports `[::ffff:a.b.c.d]`).
  static func peer(_ url: String, from namespace: TestNamespace) async -> String? {
    guard let text = await fetch(url, from: namespace) else { return nil }
    var address = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if address.hasPrefix("[") && address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
    if address.hasPrefix("::ffff:") { address = String(address.dropFirst(7)) }
    return address
  }

  /// Whether `url` stays unanswered (one attempt of two seconds).
  static func unanswered(_ url: String, from namespace: TestNamespace) -> Bool {
    let result = try? namespace.run(["curl", "-s", "-g", "--max-time", "2", url], check: false)
    return result?.status != 0
  }

  static func setup(
    _ world: World, _ container: Container, _ networks: KeyValuePairs<String, PerNetworkOptions>,
    ports: [PortMapping]
  ) async throws -> [String: StatusBlock] {
    try await world.backend.setup(
      namespacePath: container.namespace.path,
      options: NetworkOptions(
        containerID: container.id, containerName: container.name, portMappings: ports, networks: networks))
  }

  static func teardown(_ world: World, _ container: Container, networks: [String], ports: [PortMapping]) async throws {
    try await world.backend.teardown(
      namespacePath: container.namespace.path,
      options: NetworkOptions(
        containerID: container.id, containerName: container.name, portMappings: ports,
        networks: networks.map { NamedPerNetworkOptions($0) }))
  }

  /// The elements of the four port maps, as nft lists them.
  static func portElements(_ world: World) throws -> [String] {
    var elements: [String] = []
    for map in ["pf4_ip", "pf4_any", "pf6_ip", "pf6_any"] {
      let result = try world.host.run(["nft", "-j", "list", "map", "inet", "cnet", map], check: false)
      guard result.status == 0 else { continue }
      let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
      for entry in object?["nftables"] as? [[String: Any]] ?? [] {
        let elem = (entry["map"] as? [String: Any])?["elem"] as? [Any] ?? []
        elements += elem.map { "\(map) \($0)" }
      }
    }
    return elements
  }

  static func address(of status: [String: StatusBlock], _ network: String, ipv6: Bool = false) throws -> String {
    let subnets = try #require(status[network]?.interfaces.values.first?.subnets)
    return try #require(subnets.first { $0.ipnet.address.isIPv6 == ipv6 }?.ipnet.address.description)
  }

  // MARK: Published ports

  @Test func publishedPortsAnswerFromAnotherHostTheHostItselfLoopbackAndTheContainer() async throws {
    try await NativeBackendRootTests.withWorld { world in
      let outside = try Outside(world)
      defer { outside.remove() }
      try await NativeBackendRootTests.withContainers(1) { containers in
        let container = containers[0]
        let network = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.1.0/24"]))
        let ports = [
          PortMapping(containerPort: 80, hostPort: 18200),
          PortMapping(hostIP: "127.0.0.1", containerPort: 80, hostPort: 18201),
          PortMapping(containerPort: 81, hostPort: 18202, range: 2),
          PortMapping(containerPort: 53, hostPort: 18204, protocol: "udp"),
          PortMapping(containerPort: 83, hostPort: 18205, protocol: "tcp,udp"),
          // This kernel has no SCTP, so no traffic: the forward is still made and removed.
          PortMapping(containerPort: 90, hostPort: 18206, protocol: "sctp"),
        ]
        _ = try await Self.setup(world, container, [network.name: PerNetworkOptions()], ports: ports)
        let servers =
          try Self.webServers(in: container.namespace, ports: [80, 81, 82, 83], text: "web\n", world: world)
          + [
            try Server(
              in: container.namespace, ["nc.openbsd", "-u", "-l", "53"], output: world.root.appending("udp53.out")),
            try Server(
              in: container.namespace, ["nc.openbsd", "-u", "-l", "83"], output: world.root.appending("udp83.out")),
          ]
        defer { servers.forEach { $0.stop() } }
        let host = Self.hostUplink
        // From another host, to the host's address.
        for port in [18200, 18202, 18203, 18205] {
          #expect(await Self.fetch("http://\(host):\(port)/", from: outside.namespace) == "web\n", "port \(port)")
        }
        // From the host itself, to its own address and to 127.0.0.1 (route_localnet and localhost masquerade).
        #expect(await Self.fetch("http://\(host):18200/", from: world.host) == "web\n")
        #expect(await Self.fetch("http://127.0.0.1:18201/", from: world.host) == "web\n")
        #expect(await Self.fetch("http://127.0.0.1:18200/", from: world.host) == "web\n")
        // Hairpin: the container reaches its own published port through the host's address.
        #expect(await Self.fetch("http://\(host):18200/", from: container.namespace) == "web\n")
        // A port published on 127.0.0.1 only is not published on other addresses.
        #expect(Self.unanswered("http://\(host):18201/", from: outside.namespace))
        // UDP, alone and in a comma list.
        for (port, file) in [(18204, "udp53.out"), (18205, "udp83.out")] {
          let delivered = await waitUntil(seconds: 10) {
            _ = try? outside.namespace.run(
              ["sh", "-c", "echo hello over udp | nc.openbsd -u -w 1 \(host) \(port)"], check: false)
            let text = (try? String(contentsOfFile: world.root.appending(file), encoding: .utf8)) ?? ""
            return text.contains("hello over udp")
          }
          #expect(delivered, "no datagram reached the container through \(port)/udp")
        }
        #expect(try Self.portElements(world).count == 8)

        try await Self.teardown(world, container, networks: [network.name], ports: ports)
        #expect(try Self.portElements(world) == [])
        #expect(Self.unanswered("http://\(host):18200/", from: outside.namespace))
      }
    }
  }

  @Test func theHostAddressChoosesTheFamilies() async throws {
    try await NativeBackendRootTests.withWorld { world in
      let outside = try Outside(world)
      defer { outside.remove() }
      try await NativeBackendRootTests.withContainers(1) { containers in
        let container = containers[0]
        let network = try await world.create(
          NativeBackendRootTests.bridgeNetwork(["10.78.2.0/24", "fd78:2::/64"]))
        let ports = [
          PortMapping(containerPort: 80, hostPort: 18210),
          PortMapping(hostIP: "0.0.0.0", containerPort: 80, hostPort: 18211),
          PortMapping(hostIP: "::", containerPort: 80, hostPort: 18212),
        ]
        _ = try await Self.setup(world, container, [network.name: PerNetworkOptions()], ports: ports)
        let servers = try Self.webServers(in: container.namespace, ports: [80], text: "dual\n", world: world)
        defer { servers.forEach { $0.stop() } }
        let v4 = "http://\(Self.hostUplink)", v6 = "http://[\(Self.hostUplink6)]"
        #expect(await Self.fetch("\(v4):18210/", from: outside.namespace) == "dual\n")
        #expect(await Self.fetch("\(v6):18210/", from: outside.namespace) == "dual\n")
        #expect(await Self.fetch("\(v4):18211/", from: outside.namespace) == "dual\n")
        #expect(Self.unanswered("\(v6):18211/", from: outside.namespace))
        #expect(await Self.fetch("\(v6):18212/", from: outside.namespace) == "dual\n")
        #expect(Self.unanswered("\(v4):18212/", from: outside.namespace))
        try await Self.teardown(world, container, networks: [network.name], ports: ports)
        #expect(try Self.portElements(world) == [])
      }
    }
  }

  /// Ports kept by the first network's state may forward to another network's address (here the second network's,
  /// the first having none): a teardown when the namespace goes removes every forward before any link changes, and leaves
  /// no element, no state and no link up.
  @Test func forwardsToASecondNetworkGoBeforeAnyLinkWhenTheNamespaceGoes() async throws {
    try await NativeBackendRootTests.withWorld { world in
      try await NativeBackendRootTests.withContainers(1) { containers in
        let container = containers[0]
        // No addresses on the first network (no IPAM), so the forward targets the second one's.
        var request = NativeBackendRootTests.bridgeNetwork([])
        request.ipamOptions = ["driver": "none"]
        let bare = try await world.create(request)
        let v4 = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.6.0/24"]))
        let ports = [PortMapping(containerPort: 80, hostPort: 18260)]
        let status = try await Self.setup(
          world, container, [bare.name: PerNetworkOptions(), v4.name: PerNetworkOptions()], ports: ports)
        let target = try Self.address(of: status, v4.name)
        let elements = try Self.portElements(world)
        #expect(elements.contains { $0.hasPrefix("pf4") && $0.contains(target) }, "\(elements)")
        let ends = try world.vethEnds()
        #expect(ends.count == 2)
        var options = NetworkOptions(
          containerID: container.id, containerName: container.name, portMappings: ports,
          networks: [NamedPerNetworkOptions(bare.name), NamedPerNetworkOptions(v4.name)])
        options.namespaceWillBeRemoved = true
        try await world.backend.teardown(namespacePath: container.namespace.path, options: options)
        #expect(try Self.portElements(world) == [])
        #expect(world.stateFiles() == [])
        for end in ends {
          #expect(try !NativeBackendRootTests.ShownLink.named(end, in: world.host.name).up, "\(end) is still up")
        }
      }
    }
  }

  /// Podman's `network connect` and `disconnect` pass the container's ports with the one network: connecting keeps
  /// the forwards where they are (netavark adds a rule per network, and the first wins), and disconnecting the
  /// network they target moves them to a network the container stays on, so the ports keep answering.
  @Test func portsFollowTheContainerThroughConnectAndDisconnect() async throws {
    try await NativeBackendRootTests.withWorld { world in
      try await NativeBackendRootTests.withContainers(1) { containers in
        let container = containers[0]
        let first = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.7.0/24"]))
        let second = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.8.0/24"]))
        let ports = [PortMapping(containerPort: 80, hostPort: 18270)]
        let status = try await Self.setup(world, container, [first.name: PerNetworkOptions()], ports: ports)
        let firstAddress = try Self.address(of: status, first.name)
        let servers = try Self.webServers(in: container.namespace, ports: [80], text: "moved\n", world: world)
        defer { servers.forEach { $0.stop() } }
        #expect(await Self.fetch("http://127.0.0.1:18270/", from: world.host) == "moved\n")

        let connected = try await Self.setup(
          world, container, [second.name: PerNetworkOptions(interfaceName: "eth1")], ports: ports)
        let secondAddress = try Self.address(of: connected, second.name)
        let afterConnect = try Self.portElements(world)
        #expect(afterConnect.count == 1 && afterConnect[0].contains(firstAddress), "\(afterConnect)")

        try await Self.teardown(world, container, networks: [first.name], ports: ports)
        let afterDisconnect = try Self.portElements(world)
        #expect(afterDisconnect.count == 1 && afterDisconnect[0].contains(secondAddress), "\(afterDisconnect)")
        #expect(await Self.fetch("http://127.0.0.1:18270/", from: world.host) == "moved\n")
        #expect(world.stateFiles().count == 1)

        try await Self.teardown(world, container, networks: [second.name], ports: ports)
        #expect(try Self.portElements(world) == [])
        #expect(world.stateFiles() == [])
      }
    }
  }

  /// A process killed in the middle of a hand-over leaves the ports in two states (the successor's written, the
  /// forwards not yet moved): a reload writes each port once, and the next teardown of the first network moves them.
  @Test func aHandOverCutShortIsReloadedAndCompletedByTheNextTeardown() async throws {
    try await NativeBackendRootTests.withWorld { world in
      try await NativeBackendRootTests.withContainers(1) { containers in
        let container = containers[0]
        let first = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.10.0/24"]))
        let second = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.11.0/24"]))
        let ports = [PortMapping(containerPort: 80, hostPort: 18272)]
        _ = try await Self.setup(world, container, [first.name: PerNetworkOptions()], ports: ports)
        let connected = try await Self.setup(
          world, container, [second.name: PerNetworkOptions(interfaceName: "eth1")], ports: ports)
        let secondAddress = try Self.address(of: connected, second.name)
        // The state the hand-over writes first: the second network's, with the ports pointing at its address.
        let path = "\(world.stateDir)/\(second.name)/\(container.id).json"
        var state = try #require(
          try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        state["published_ports"] = [
          "port_mappings": [["host_ip": "", "container_port": 80, "host_port": 18272, "range": 1, "protocol": "tcp"]],
          "ipv4": secondAddress,
        ]
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: path))

        try world.host.run(["nft", "flush", "ruleset"])
        #expect(try await world.backend.reload(containers: nil) == [container.id])
        #expect(try Self.portElements(world).count == 1)
        let servers = try Self.webServers(in: container.namespace, ports: [80], text: "once\n", world: world)
        defer { servers.forEach { $0.stop() } }
        #expect(await Self.fetch("http://127.0.0.1:18272/", from: world.host) == "once\n")

        try await Self.teardown(world, container, networks: [first.name], ports: ports)
        let elements = try Self.portElements(world)
        #expect(elements.count == 1 && elements[0].contains(secondAddress), "\(elements)")
        #expect(await Self.fetch("http://127.0.0.1:18272/", from: world.host) == "once\n")
        try await Self.teardown(world, container, networks: [second.name], ports: ports)
        #expect(try Self.portElements(world) == [])
        #expect(world.stateFiles() == [])
      }
    }
  }

  /// A hand-over that would take a key another container holds (here its IPv6 port, which the network the ports
  /// move to would add) changes nothing of that container's: the ports go with the network they were on.
  @Test func aHandOverNeverTakesAnotherContainersPort() async throws {
    try await NativeBackendRootTests.withWorld { world in
      try await NativeBackendRootTests.withContainers(2) { containers in
        let (mover, holder) = (containers[0], containers[1])
        let v4 = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.12.0/24"]))
        let dual = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.13.0/24", "fd78:13::/64"]))
        _ = try await Self.setup(
          world, holder, [dual.name: PerNetworkOptions()],
          ports: [PortMapping(hostIP: "::", containerPort: 80, hostPort: 18274)])
        let ports = [PortMapping(containerPort: 80, hostPort: 18274)]
        _ = try await Self.setup(world, mover, [v4.name: PerNetworkOptions()], ports: ports)
        _ = try await Self.setup(world, mover, [dual.name: PerNetworkOptions(interfaceName: "eth1")], ports: ports)
        let before = try Self.portElements(world)
        #expect(before.count == 2, "\(before)")
        try await Self.teardown(world, mover, networks: [v4.name], ports: ports)
        #expect(try Self.portElements(world) == before.filter { $0.hasPrefix("pf6") })
        // A connect with other ports than the container publishes is refused, and leaves nothing.
        let other = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.14.0/24"]))
        _ = try await Self.setup(world, mover, [v4.name: PerNetworkOptions(interfaceName: "eth2")], ports: ports)
        await #expect {
          _ = try await Self.setup(
            world, mover, [other.name: PerNetworkOptions(interfaceName: "eth3")],
            ports: [PortMapping(containerPort: 80, hostPort: 18275)])
        } throws: { error in
          "\(error)".contains("publishes its ports through network \(v4.name) already, and they cannot differ")
        }
        #expect(try mover.namespace.linkNames().sorted() == ["eth1", "eth2", "lo"])
        try await Self.teardown(world, mover, networks: [v4.name, dual.name], ports: ports)
        try await Self.teardown(world, holder, networks: [dual.name], ports: [])
        #expect(try Self.portElements(world) == [])
        #expect(world.stateFiles() == [])
      }
    }
  }

  @Test func aHostPortThatAnotherContainerPublishesIsAClearErrorThatChangesNothing() async throws {
    try await NativeBackendRootTests.withWorld { world in
      try await NativeBackendRootTests.withContainers(2) { containers in
        let network = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.3.0/24"]))
        let first = [PortMapping(containerPort: 80, hostPort: 18220)]
        let status = try await Self.setup(world, containers[0], [network.name: PerNetworkOptions()], ports: first)
        let owner = try Self.address(of: status, network.name)
        let before = try Self.portElements(world)
        let second = [PortMapping(containerPort: 81, hostPort: 18221), PortMapping(containerPort: 80, hostPort: 18220)]
        await #expect {
          _ = try await Self.setup(world, containers[1], [network.name: PerNetworkOptions()], ports: second)
        } throws: { error in
          "\(error)".contains("port 0.0.0.0:18220/tcp is already published by another container")
        }
        // Nothing of the second container: no element (not even its free port), link, state file or lease.
        #expect(try Self.portElements(world) == before)
        #expect(try world.vethEnds().count == 1)
        #expect(world.stateFiles().count == 1)
        #expect(try containers[1].namespace.linkNames() == ["lo"])
        // Its teardown (an engine tears down after a failed setup) leaves the first container's port alone.
        try await Self.teardown(world, containers[1], networks: [network.name], ports: second)
        #expect(try Self.portElements(world) == before)
        let servers = try Self.webServers(in: containers[0].namespace, ports: [80], text: "first\n", world: world)
        defer { servers.forEach { $0.stop() } }
        #expect(await Self.fetch("http://127.0.0.1:18220/", from: world.host) == "first\n", "owner \(owner)")
        try await Self.teardown(world, containers[0], networks: [network.name], ports: first)
        #expect(try Self.portElements(world) == [])
      }
    }
  }

  /// Every port at once: 65 535 forwards, more than one netlink message (a nested attribute holds 64 KiB) and more
  /// than one datagram can carry, go in and out completely, and the state file stays small.
  @Test func theWholePortRangePublishesAndGoesCompletely() async throws {
    try await NativeBackendRootTests.withWorld { world in
      try await NativeBackendRootTests.withContainers(1) { containers in
        let network = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.16.0/24"]))
        let ports = [PortMapping(containerPort: 1, hostPort: 1, range: 65535)]
        _ = try await Self.setup(world, containers[0], [network.name: PerNetworkOptions()], ports: ports)
        let listed = try world.host.run(["nft", "list", "map", "inet", "cnet", "pf4_any"]).stdout
        #expect(listed.contains("tcp . 1 : ") && listed.contains("tcp . 65535 : "))
        #expect(listed.components(separatedBy: "tcp . ").count - 1 == 65535)
        let state = try #require(world.stateFiles().first)
        let size = try FileManager.default.attributesOfItem(atPath: "\(world.stateDir)/\(state)")[.size] as? Int
        #expect((size ?? .max) < 4096)
        try await Self.teardown(world, containers[0], networks: [network.name], ports: ports)
        #expect(try Self.portElements(world) == [])
      }
    }
  }

  // MARK: Masquerade, internal networks, isolation

  @Test func trafficOutIsMasqueradedOrSourceTranslatedToTheOutboundAddress() async throws {
    try await NativeBackendRootTests.withWorld { world in
      let outside = try Outside(world)
      defer { outside.remove() }
      let servers = try Self.webServers(in: outside.namespace, ports: [80], text: "outside\n", world: world)
      defer { servers.forEach { $0.stop() } }
      try world.host.run(["ip", "addr", "add", "192.0.2.5/32", "dev", "lo"])
      try await NativeBackendRootTests.withContainers(2) { containers in
        let plain = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.4.0/24"]))
        let snat = try await world.create(
          NativeBackendRootTests.bridgeNetwork(["10.78.5.0/24"], options: ["outbound_addr4": "192.0.2.5"]))
        _ = try await world.setup(containers[0], [plain.name: PerNetworkOptions()])
        _ = try await world.setup(containers[1], [snat.name: PerNetworkOptions()])
        let url = "http://\(Self.outsideAddress)/cgi-bin/peer"
        #expect(await Self.peer(url, from: containers[0].namespace) == Self.hostUplink)
        #expect(await Self.peer(url, from: containers[1].namespace) == "192.0.2.5")
        try await world.teardown(containers[0], networks: [plain.name])
        try await world.teardown(containers[1], networks: [snat.name])
      }
    }
  }

  @Test func anInternalNetworkForwardsNothingOut() async throws {
    try await NativeBackendRootTests.withWorld { world in
      let outside = try Outside(world)
      defer { outside.remove() }
      let servers = try Self.webServers(in: outside.namespace, ports: [80], text: "outside\n", world: world)
      defer { servers.forEach { $0.stop() } }
      try await NativeBackendRootTests.withContainers(2) { containers in
        let closed = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.6.0/24"], internal: true))
        let open = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.7.0/24"]))
        let status = try await world.setup(containers[0], [closed.name: PerNetworkOptions()])
        _ = try await world.setup(containers[1], [open.name: PerNetworkOptions()])
        // The outside is not reachable even with a route there; the gateway (the host) is.
        try containers[0].namespace.run(["ip", "route", "add", "192.0.2.0/24", "via", "10.78.6.1"])
        #expect(Self.unanswered("http://\(Self.outsideAddress)/", from: containers[0].namespace))
        #expect(try NativeBackendRootTests.ping(from: containers[0].namespace, "10.78.6.1") == nil)
        #expect(await Self.fetch("http://\(Self.outsideAddress)/", from: containers[1].namespace) == "outside\n")
        // Nor does the open network's container reach into it (the internal bridge forwards nothing out, so no
        // reply).
        let inside = try Self.address(of: status, closed.name)
        #expect(try NativeBackendRootTests.ping(from: containers[1].namespace, inside, seconds: 2) != nil)
        try await world.teardown(containers[0], networks: [closed.name])
        try await world.teardown(containers[1], networks: [open.name])
      }
    }
  }

  @Test func isolatedNetworksDropEachOthersTrafficButNotPublishedPorts() async throws {
    try await NativeBackendRootTests.withWorld { world in
      try world.host.run(["ip", "addr", "add", "\(Self.hostUplink)/32", "dev", "lo"])
      try await NativeBackendRootTests.withContainers(4) { containers in
        let a = try await world.create(
          NativeBackendRootTests.bridgeNetwork(["10.78.8.0/24"], options: ["isolate": "true"]))
        let b = try await world.create(
          NativeBackendRootTests.bridgeNetwork(["10.78.9.0/24"], options: ["isolate": "true"]))
        let open = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.10.0/24"]))
        let strict = try await world.create(
          NativeBackendRootTests.bridgeNetwork(["10.78.11.0/24"], options: ["isolate": "strict"]))
        let ports = [PortMapping(containerPort: 80, hostPort: 18230)]
        let inA = try Self.address(of: try await world.setup(containers[0], [a.name: PerNetworkOptions()]), a.name)
        let inB = try Self.address(
          of: try await Self.setup(world, containers[1], [b.name: PerNetworkOptions()], ports: ports), b.name)
        let inOpen = try Self.address(
          of: try await world.setup(containers[2], [open.name: PerNetworkOptions()]), open.name)
        let inStrict = try Self.address(
          of: try await world.setup(containers[3], [strict.name: PerNetworkOptions()]), strict.name)
        let servers = try Self.webServers(in: containers[1].namespace, ports: [80], text: "b\n", world: world)
        defer { servers.forEach { $0.stop() } }
        func ping(_ namespace: TestNamespace, _ address: String, _ seconds: Int) throws -> String? {
          try NativeBackendRootTests.ping(from: namespace, address, seconds: seconds)
        }
        // isolate=true: not between two isolated networks, either way; to and from an open network, yes.
        #expect(try ping(containers[0].namespace, inB, 2) != nil)
        #expect(try ping(containers[1].namespace, inA, 2) != nil)
        #expect(try ping(containers[0].namespace, inOpen, 10) == nil)
        #expect(try ping(containers[2].namespace, inA, 10) == nil)
        // strict: to no other of our bridges, and the replies of others do not get in either.
        #expect(try ping(containers[3].namespace, inOpen, 2) != nil)
        #expect(try ping(containers[2].namespace, inStrict, 2) != nil)
        // A published port passes isolation.
        #expect(await Self.fetch("http://\(Self.hostUplink):18230/", from: containers[0].namespace) == "b\n")
        #expect(await Self.fetch("http://\(Self.hostUplink):18230/", from: containers[3].namespace) == "b\n")
        _ = inStrict
        try await world.teardown(containers[0], networks: [a.name])
        try await Self.teardown(world, containers[1], networks: [b.name], ports: ports)
        try await world.teardown(containers[2], networks: [open.name])
        try await world.teardown(containers[3], networks: [strict.name])
      }
    }
  }

  // MARK: Reload, coexistence

  @Test func reloadAfterAFlushRestoresPublishedPortsAndMasquerade() async throws {
    try await NativeBackendRootTests.withWorld { world in
      let outside = try Outside(world)
      defer { outside.remove() }
      let web = try Self.webServers(in: outside.namespace, ports: [80], text: "outside\n", world: world)
      defer { web.forEach { $0.stop() } }
      try await NativeBackendRootTests.withContainers(1) { containers in
        let container = containers[0]
        let network = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.12.0/24"]))
        let ports = [PortMapping(containerPort: 80, hostPort: 18240)]
        _ = try await Self.setup(world, container, [network.name: PerNetworkOptions()], ports: ports)
        let servers = try Self.webServers(in: container.namespace, ports: [80], text: "in\n", world: world)
        defer { servers.forEach { $0.stop() } }
        let url = "http://\(Self.hostUplink):18240/"
        let out = "http://\(Self.outsideAddress)/cgi-bin/peer"
        #expect(await Self.fetch(url, from: outside.namespace) == "in\n")
        #expect(await Self.peer(out, from: container.namespace) == Self.hostUplink)

        // Through the library.
        try world.host.run(["nft", "flush", "ruleset"])
        try world.host.run(["iptables", "-F"])
        #expect(Self.unanswered(url, from: outside.namespace))
        #expect(try await world.backend.reload(containers: nil) == [container.id])
        #expect(await Self.fetch(url, from: outside.namespace) == "in\n")
        #expect(await Self.peer(out, from: container.namespace) == Self.hostUplink)

        // Through `cnet reload`.
        try world.host.run(["nft", "flush", "ruleset"])
        #expect(Self.unanswered(url, from: outside.namespace))
        let sandbox = try CNetSandbox(hostNamespace: world.host.path)
        defer { sandbox.remove() }
        let result = try sandbox.raw(world.globalOptions + ["reload", "--all"])
        #expect(result.status == 0, "cnet reload: \(result.stderr)")
        #expect(await Self.fetch(url, from: outside.namespace) == "in\n")
        #expect(try Self.portElements(world).count == 1)

        try await Self.teardown(world, container, networks: [network.name], ports: ports)
        #expect(try Self.portElements(world) == [])
      }
    }
  }

  /// Every table but ours, and the iptables rules: what a cycle must leave exactly as it found it.
  static func othersRules(_ world: World) throws -> String {
    var text = ""
    let tables = try world.host.run(["nft", "list", "tables"]).stdout.split(separator: "\n")
    for table in tables.map(String.init).sorted() where table != "table inet cnet" {
      let words = table.split(separator: " ").map(String.init)
      text += try world.host.run(["nft", "list", "table", words[1], words[2]]).stdout
    }
    for command in ["iptables-save", "ip6tables-save"] {
      let lines = try world.host.run([command]).stdout.split(separator: "\n")
      text += lines.filter { !$0.hasPrefix("#") }.joined(separator: "\n") + "\n"
    }
    return text
  }

  @Test func aFullCycleLeavesEveryOtherTableAndTheIptablesRulesAsTheyWere() async throws {
    try await NativeBackendRootTests.withWorld { world in
      // Others' rules: iptables (as the CNI plugins, netavark 1.4 and Docker write them) and an nft table.
      try world.host.run(["iptables", "-t", "nat", "-N", "OTHERS-NAT"])
      try world.host.run(["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.99.0.0/16", "-j", "OTHERS-NAT"])
      try world.host.run(["iptables", "-A", "FORWARD", "-i", "docker0", "-j", "ACCEPT"])
      try world.host.run(["ip6tables", "-A", "FORWARD", "-i", "docker0", "-j", "ACCEPT"])
      try world.host.run(["nft", "add", "table", "inet", "others"])
      try world.host.run([
        "nft", "add", "chain", "inet", "others", "others_fwd",
        "{ type filter hook forward priority 10 ; policy accept ; }",
      ])
      try world.host.run([
        "nft", "add", "rule", "inet", "others", "others_fwd", "ip", "saddr", "10.99.0.0/16", "accept",
      ])
      let before = try Self.othersRules(world)
      try await NativeBackendRootTests.withContainers(1) { containers in
        let network = try await world.create(
          NativeBackendRootTests.bridgeNetwork(["10.78.13.0/24", "fd78:13::/64"], options: ["isolate": "true"]))
        let ports = [
          PortMapping(containerPort: 80, hostPort: 18250),
          PortMapping(containerPort: 53, hostPort: 18251, protocol: "udp"),
        ]
        _ = try await Self.setup(world, containers[0], [network.name: PerNetworkOptions()], ports: ports)
        #expect(try Self.portElements(world).count == 4)
        try await Self.teardown(world, containers[0], networks: [network.name], ports: ports)
        try await world.backend.remove(network.name, force: false)
      }
      #expect(try Self.othersRules(world) == before)
      #expect(try Self.portElements(world) == [])
    }
  }

  // MARK: Crashes and cycles

  @Test func teardownAfterSetupsKilledHalfWayLeavesNothing() async throws {
    try await NativeBackendRootTests.withWorld { world in
      let sandbox = try CNetSandbox(hostNamespace: world.host.path)
      defer { sandbox.remove() }
      let network = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.14.0/24"]))
      // A first container makes the bridge and the firewall, so that the kills land in the per-container steps.
      try await NativeBackendRootTests.withContainers(1) { containers in
        _ = try await world.setup(containers[0], [network.name: PerNetworkOptions()])
        try await world.teardown(containers[0], networks: [network.name])
      }
      let baseline = try world.hostLinks().map(\.name).sorted()
      try await NativeBackendRootTests.withContainers(12) { containers in
        for (index, container) in containers.enumerated() {
          let process = Process()
          process.executableURL = URL(fileURLWithPath: sandbox.binary)
          process.arguments =
            world.globalOptions + [
              "setup", "--container-id", container.id, "--container-name", container.name, "--network", network.name,
              "-p", "\(18300 + index):80", "-p", "\(18400 + index):53/udp", container.namespace.path,
            ]
          process.environment = sandbox.environment()
          process.standardOutput = FileHandle.nullDevice
          process.standardError = FileHandle.nullDevice
          try process.run()
          // From right after the start to well after the end of a setup (a few milliseconds).
          usleep(useconds_t(index * 1500))
          kill(process.processIdentifier, SIGKILL)
          process.waitUntilExit()
          let teardown = try sandbox.raw(
            world.globalOptions + [
              "teardown", "--container-id", container.id, "--network", network.name, "-p", "\(18300 + index):80",
              "-p", "\(18400 + index):53/udp", container.namespace.path,
            ])
          #expect(teardown.status == 0, "teardown after a kill at \(index * 1500) µs: \(teardown.stderr)")
        }
        #expect(try Self.portElements(world) == [])
        #expect(try world.hostLinks().map(\.name).sorted() == baseline)
        #expect(world.stateFiles() == [])
        for container in containers { #expect(try container.namespace.linkNames() == ["lo"]) }
      }
    }
  }

  @Test func aThousandCyclesWithPortsGrowNothing() async throws {
    try await NativeBackendRootTests.withWorld { world in
      try await NativeBackendRootTests.withContainers(4) { containers in
        let network = try await world.create(NativeBackendRootTests.bridgeNetwork(["10.78.15.0/24"]))
        let ports = [PortMapping(containerPort: 80, hostPort: 18260), PortMapping(containerPort: 443, hostPort: 18261)]
        func cycle(_ index: Int) async throws {
          let container = Container(containers[index % containers.count].namespace)
          let status = try await Self.setup(world, container, [network.name: PerNetworkOptions()], ports: ports)
          try #require(status[network.name]?.interfaces["eth0"]?.subnets.count == 1, "cycle \(index): \(status)")
          try await Self.teardown(world, container, networks: [network.name], ports: ports)
        }
        let warmUp = 100
        for index in 0..<warmUp { try await cycle(index) }
        let baseline = try NativeBackendRootTests.Footprint(world)
        for index in warmUp..<1000 { try await cycle(index) }
        let final = try NativeBackendRootTests.Footprint(world)
        print("1000 native cycles with two ports; after warm-up: \(baseline); at the end: \(final)")
        #expect(final.hostLinks == baseline.hostLinks)
        #expect(final.stateFiles == 0)
        #expect(try Self.portElements(world) == [])
        #expect(final.descriptors <= baseline.descriptors + 32, "descriptors: \(baseline) -> \(final)")
        #expect(final.threads <= baseline.threads + 16, "threads: \(baseline) -> \(final)")
        #expect(final.residentBytes <= baseline.residentBytes + 48 << 20, "memory: \(baseline) -> \(final)")
      }
    }
  }
}
