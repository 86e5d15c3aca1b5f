import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What the netavark root tests need; outside the suite, whose attribute cannot refer to the suite itself.
private enum NetavarkRootRequirements {
  static let netavark = "/usr/lib/podman/netavark"
  static let aardvark = "/usr/lib/podman/aardvark-dns"

  /// Under CI this is always true, so a missing program fails the test instead of skipping it.
  static let met =
    TestEnvironment.canRunPrivileged && TestEnvironment.canUse(netavark) && TestEnvironment.canUse(aardvark)
    && TestEnvironment.canUse("busybox")
}

/// `cnet --backend netavark` as a built binary with the real netavark and aardvark-dns from /usr/lib/podman.
///
/// netavark runs in a private "host" namespace (CNET_HOST_NETNS), so its bridges, veth ends, firewall rules and the
/// aardvark-dns it starts all live there; the networks, netavark's state and the IPAM database live in the test's
/// temp directory. Every aardvark-dns whose command line names that directory is stopped before the test ends.
@Suite(
  .enabled(
    if: NetavarkRootRequirements.met,
    "needs root, netavark and aardvark-dns in /usr/lib/podman (scripts/install-deps) and busybox"),
  .serialized)
struct NetavarkBackendRootTests {
  static let netavark = NetavarkRootRequirements.netavark
  static let aardvark = NetavarkRootRequirements.aardvark

  // MARK: The test's world

  /// A private host namespace, a sandbox whose commands run netavark there, and the netavark directories in the
  /// sandbox.
  struct World {
    let host: TestNamespace
    let sandbox: CNetSandbox

    var configDir: String { sandbox.root.appending("networks") }
    var runDir: String { sandbox.root.appending("run") }
    var ipamPath: String { "\(runDir)/cnet-ipam.sqlite" }

    /// The global options, given before the subcommand.
    var globalOptions: [String] { ["--backend", "netavark", "--config-dir", configDir, "--run-dir", runDir] }

    /// Runs `cnet --backend netavark --config-dir … --run-dir … ARGS…`.
    @discardableResult
    func cnet(_ arguments: [String]) throws -> CommandResult {
      try sandbox.raw(globalOptions + arguments)
    }

    /// Runs a command that must succeed without writing to stderr, and returns its stdout.
    @discardableResult
    func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
      let result = try cnet(arguments)
      #expect(result.status == 0, "cnet \(arguments) failed: \(result.stderr)", sourceLocation: sourceLocation)
      #expect(result.stderr == "", sourceLocation: sourceLocation)
      return result.stdout
    }

    /// The arguments of `setup` and `teardown` after the subcommand.
    func attachArguments(
      _ container: Container, networks: [String], publish: [String] = []
    ) -> [String] {
      ["--container-id", container.id, "--container-name", container.name]
        + networks.flatMap { ["--network", $0] } + publish.flatMap { ["--publish", $0] } + [container.namespace.path]
    }

    func setup(_ container: Container, networks: [String], publish: [String] = []) throws -> CommandResult {
      try cnet(["setup"] + attachArguments(container, networks: networks, publish: publish))
    }

    /// A setup that must succeed; returns its stdout (the status blocks).
    @discardableResult
    func attach(
      _ container: Container, networks: [String], publish: [String] = [],
      sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
      let result = try setup(container, networks: networks, publish: publish)
      try #require(
        result.status == 0, "setup of \(container.name) failed: \(result.stderr)", sourceLocation: sourceLocation)
      #expect(result.stderr == "", sourceLocation: sourceLocation)
      return result.stdout
    }

    /// A teardown that must succeed silently.
    func detach(
      _ container: Container, networks: [String], publish: [String] = [],
      sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
      let result = try cnet(["teardown"] + attachArguments(container, networks: networks, publish: publish))
      #expect(
        result.status == 0, "teardown of \(container.name) failed: \(result.stderr)", sourceLocation: sourceLocation)
      #expect(result.stdout == "", sourceLocation: sourceLocation)
      #expect(result.stderr == "", sourceLocation: sourceLocation)
    }

    /// The veth ends in the host namespace: one per attached container interface.
    func vethEnds() throws -> [String] {
      try runCommand(["ip", "-n", host.name, "-o", "link", "show", "type", "veth"]).stdout
        .split(separator: "\n").map(String.init)
    }

    /// The host namespace's iptables and ip6tables rules, without comments and without the chains' counters.
    func firewall() throws -> [String] {
      var lines: [String] = []
      for tool in ["iptables-save", "ip6tables-save"] {
        for line in try host.run([tool]).stdout.split(separator: "\n") where !line.hasPrefix("#") {
          let text =
            line.hasPrefix(":")
            ? line.replacingOccurrences(of: #" \[\d+:\d+\]$"#, with: "", options: .regularExpression)
            : String(line)
          lines.append("\(tool): \(text)")
        }
      }
      return lines
    }

    /// The IPAM database's rows that belong to `containerID` (allocations, the container record, attachments);
    /// nil when the sqlite3 command is not installed.
    func ipamRows(of containerID: String) throws -> [String]? {
      guard TestEnvironment.hasExecutable("sqlite3") else {
        print("sqlite3 is not installed: the IPAM database of \(ipamPath) is checked through cnet only")
        return nil
      }
      let query = """
        SELECT 'allocation', network, ip FROM allocation WHERE container_id = '\(containerID)'
        UNION ALL SELECT 'container', name, namespace FROM container WHERE container_id = '\(containerID)'
        UNION ALL SELECT 'attachment', network, '' FROM attachment WHERE container_id = '\(containerID)';
        """
      return try runCommand(["sqlite3", ipamPath, query]).stdout.split(separator: "\n").map(String.init)
    }

    /// The aardvark-dns processes started for this world: those whose arguments name a path in its run directory.
    func aardvarkProcesses() -> [pid_t] {
      guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
      return entries.compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry), let handle = FileHandle(forReadingAtPath: "/proc/\(entry)/cmdline") else {
          return nil
        }
        defer { try? handle.close() }
        let arguments = handle.readDataToEndOfFile().split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let program = arguments.first, program.hasSuffix("aardvark-dns"),
          arguments.contains(where: { $0 == runDir || $0.hasPrefix(runDir + "/") })
        else { return nil }
        return pid
      }
    }

    /// Stops what a failed test may have left running: SIGTERM, then SIGKILL after 3 seconds. Only processes of
    /// this world, by pid.
    func stopAardvark() {
      for signal in [SIGTERM, SIGKILL] {
        let running = aardvarkProcesses()
        if running.isEmpty { return }
        print("stopping aardvark-dns \(running) left running for \(runDir) with signal \(signal)")
        for pid in running { kill(pid, signal) }
        var polls = 0
        while polls < 60 && !aardvarkProcesses().isEmpty {
          usleep(50_000)
          polls += 1
        }
      }
    }
  }

  /// A container of a test: its ID, name and namespace.
  struct Container {
    let id: String
    let name: String
    let namespace: TestNamespace

    init(_ namespace: TestNamespace, name: String? = nil) {
      id = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
      self.name = name ?? UniqueName.make("ctr")
      self.namespace = namespace
    }
  }

  /// Runs `body` in a new world; afterwards stops its aardvark-dns, deletes the host namespace and the sandbox,
  /// even when `body` throws.
  static func withWorld(_ body: (World) async throws -> Void) async throws {
    for program in [netavark, aardvark] {
      try #require(TestEnvironment.hasExecutable(program), "\(program) is missing: run scripts/install-deps")
    }
    try #require(TestEnvironment.hasExecutable("busybox"), "busybox is missing: run scripts/install-deps")
    let host = try TestNamespace(prefix: "nvh")
    defer { host.remove() }
    let sandbox = try CNetSandbox(hostNamespace: host.path)
    defer { sandbox.remove() }
    let world = World(host: host, sandbox: sandbox)
    defer { world.stopAardvark() }
    try await body(world)
  }

  /// Runs `body` with `count` new container namespaces, deleted afterwards even when `body` throws.
  static func withContainers(
    _ count: Int, _ body: ([Container]) async throws -> Void
  ) async throws {
    try await withTestNamespaces(count: count, prefix: "nvc") { namespaces in
      try await body(namespaces.map { Container($0) })
    }
  }

  /// A random IPv4 /24 and the text its addresses start with; the host namespace is private, so it only has to
  /// differ between the networks of one test.
  static func subnet() -> (cidr: String, prefix: String) {
    let third = Int.random(in: 1...254)
    return ("10.232.\(third).0/24", "10.232.\(third).")
  }

  /// A random ULA /64 and the text its addresses start with.
  static func subnet6() -> (cidr: String, prefix: String) {
    let group = String(UInt16.random(in: 1...0xffff), radix: 16)
    return ("fd42:7:\(group)::/64", "fd42:7:\(group)::")
  }

  /// One network's interface in a setup's output.
  struct Attached {
    var interface: String
    /// `ipnet` of each subnet, e.g. `10.232.4.2/24`.
    var ipnets: [String]
    var gateways: [String]
    var mac: String
    /// The addresses without their prefix length.
    var addresses: [String] { ipnets.map { String($0.split(separator: "/")[0]) } }
  }

  /// The single interface that `network` got, read from the status blocks a setup printed.
  static func attached(
    _ output: String, network: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> Attached {
    let status = try #require(
      try parseJSON(output, sourceLocation: sourceLocation) as? [String: [String: Any]],
      sourceLocation: sourceLocation)
    let interfaces = try #require(
      status[network]?["interfaces"] as? [String: [String: Any]], "no interfaces for \(network) in \(output)",
      sourceLocation: sourceLocation)
    try #require(interfaces.count == 1, "\(interfaces)", sourceLocation: sourceLocation)
    let (name, body) = interfaces.first!
    let subnets = try #require(body["subnets"] as? [[String: String]], sourceLocation: sourceLocation)
    let mac = try #require(body["mac_address"] as? String, sourceLocation: sourceLocation)
    return Attached(
      interface: name, ipnets: subnets.compactMap { $0["ipnet"] }, gateways: subnets.compactMap { $0["gateway"] },
      mac: mac)
  }

  // MARK: Tests

  @Test func twoContainersOnOneNetworkPingEachOther() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(2) { containers in
        let name = UniqueName.make("nvp")
        let (cidr, prefix) = Self.subnet()
        #expect(try world.succeed(["create", "--disable-dns", "--subnet", cidr, name]) == "\(name)\n")

        var addresses: [String] = []
        for container in containers {
          let output = try world.attach(container, networks: [name])
          let eth0 = try Self.attached(output, network: name)
          #expect(eth0.interface == "eth0")
          #expect(eth0.ipnets.count == 1)
          let ipnet = try #require(eth0.ipnets.first)
          #expect(ipnet.hasPrefix(prefix) && ipnet.hasSuffix("/24"), "\(ipnet) is not in \(cidr)")
          #expect(eth0.gateways == ["\(prefix)1"])
          // The namespace really has that address.
          let shown = try container.namespace.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
          #expect(shown.contains("inet \(ipnet) "), "\(shown)")
          addresses.append(contentsOf: eth0.addresses)
        }
        #expect(Set(addresses).count == 2, "\(addresses)")
        #expect(try world.vethEnds().count == 2)

        for (from, to) in [(0, 1), (1, 0)] {
          let ping = try containers[from].namespace.run(
            ["busybox", "ping", "-c", "1", "-W", "5", addresses[to]], check: false)
          #expect(ping.status == 0, "ping from \(addresses[from]) to \(addresses[to]): \(ping.stdout)\(ping.stderr)")
          #expect(ping.stdout.contains("1 packets received"), "\(ping.stdout)")
        }

        for container in containers {
          try world.detach(container, networks: [name])
          #expect(try container.namespace.linkNames() == ["lo"])
        }
        #expect(try world.vethEnds() == [])
      }
    }
  }

  @Test func staticAddressesAndMACOnTwoNetworks() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let container = containers[0]
        let dual = UniqueName.make("nvd")
        let (cidr, prefix) = Self.subnet()
        let (cidr6, prefix6) = Self.subnet6()
        try world.succeed(["create", "--disable-dns", "--subnet", cidr, "--subnet", cidr6, dual])
        let single = UniqueName.make("nvs")
        var (otherCIDR, otherPrefix) = Self.subnet()
        while otherCIDR == cidr { (otherCIDR, otherPrefix) = Self.subnet() }
        try world.succeed(["create", "--disable-dns", "--subnet", otherCIDR, single])

        let mac = "02:42:0a:e8:00:14"
        let networks = ["\(dual):ip=\(prefix)20,ip=\(prefix6)20,mac=\(mac)", "\(single):ip=\(otherPrefix)30"]
        let output = try world.attach(container, networks: networks)
        let first = try Self.attached(output, network: dual)
        #expect(first.ipnets == ["\(prefix)20/24", "\(prefix6)20/64"])
        #expect(first.gateways == ["\(prefix)1", "\(prefix6)1"])
        #expect(first.mac == mac)
        let second = try Self.attached(output, network: single)
        #expect(second.ipnets == ["\(otherPrefix)30/24"])
        #expect(second.mac != mac)
        #expect(first.interface != second.interface)

        // The kernel agrees: addresses and MAC on the interfaces the status names.
        #expect(try container.namespace.linkNames().sorted() == ["lo", first.interface, second.interface].sorted())
        let shownFirst = try runCommand(["ip", "-n", container.namespace.name, "addr", "show", "dev", first.interface])
          .stdout
        #expect(shownFirst.contains("link/ether \(mac) "), "\(shownFirst)")
        #expect(shownFirst.contains("inet \(prefix)20/24 "), "\(shownFirst)")
        #expect(shownFirst.contains("inet6 \(prefix6)20/64 "), "\(shownFirst)")
        let shownSecond = try runCommand([
          "ip", "-n", container.namespace.name, "addr", "show", "dev", second.interface,
        ]).stdout
        #expect(shownSecond.contains("inet \(otherPrefix)30/24 "), "\(shownSecond)")
        #expect(shownSecond.contains("link/ether \(second.mac) "), "\(shownSecond)")
        #expect(try world.vethEnds().count == 2)

        try world.detach(container, networks: networks)
        #expect(try container.namespace.linkNames() == ["lo"])
        #expect(try world.vethEnds() == [])

        // netavark 1.4 configures one address per subnet (Podman would drop the second silently): refused, before
        // anything is made.
        let two = try world.setup(container, networks: ["\(single):ip=\(otherPrefix)30,ip=\(otherPrefix)31"])
        #expect(two.status == 125)
        #expect(two.stderr.contains("give at most one per subnet"), "\(two.stderr)")
        #expect(try container.namespace.linkNames() == ["lo"])
      }
    }
  }

  @Test func containersResolveANameAndAnAliasThroughAardvark() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(2) { made in
        let network = UniqueName.make("nvn")
        let (cidr, prefix) = Self.subnet()
        try world.succeed(["create", "--subnet", cidr, network])
        let gateway = "\(prefix)1"
        let server = Container(made[0].namespace, name: UniqueName.make("web"))
        let client = Container(made[1].namespace, name: UniqueName.make("cli"))
        let alias = UniqueName.make("als")
        let serverNetworks = ["\(network):alias=\(alias)"]

        let serverOutput = try world.attach(server, networks: serverNetworks)
        let serverAddress = try #require(try Self.attached(serverOutput, network: network).addresses.first)
        let status = try #require(try parseJSON(serverOutput) as? [String: [String: Any]])
        #expect(status[network]?["dns_server_ips"] as? [String] == [gateway])
        #expect(status[network]?["dns_search_domains"] as? [String] == ["dns.podman"])
        let clientOutput = try world.attach(client, networks: [network])
        let clientAddress = try #require(try Self.attached(clientOutput, network: network).addresses.first)
        #expect(world.aardvarkProcesses().count == 1)

        /// Asks aardvark-dns on the gateway from inside `container`; the answer's address lines.
        func lookup(_ name: String, from container: Container) -> [String] {
          let result = try? container.namespace.run(
            ["timeout", "5", "busybox", "nslookup", name, gateway], check: false)
          return (result?.stdout ?? "").split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("Address: ") }
        }
        for name in [server.name, alias, "\(server.name).dns.podman"] {
          // aardvark-dns may still be starting when netavark returns.
          var answer: [String] = []
          let found = await waitUntil(seconds: 20) {
            answer = lookup(name, from: client)
            return answer.contains("Address: \(serverAddress)")
          }
          #expect(found, "\(name) from the client: \(answer)")
        }
        #expect(lookup(client.name, from: server).contains("Address: \(clientAddress)"))

        try world.detach(client, networks: [network])
        try world.detach(server, networks: serverNetworks)
        #expect(try world.vethEnds() == [])
        // The last container left: aardvark-dns exits by itself.
        #expect(await waitUntil(seconds: 10) { world.aardvarkProcesses().isEmpty }, "aardvark-dns still runs")
      }
    }
  }

  @Test func teardownLeavesNoRuleLinkOrAddressBehind() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(3) { containers in
        let network = UniqueName.make("nvt")
        let (cidr, prefix) = Self.subnet()
        let (cidr6, _) = Self.subnet6()
        try world.succeed(["create", "--subnet", cidr, "--subnet", cidr6, network])

        // A warm-up cycle: netavark creates its skeleton chains on first use and keeps them, as with Podman.
        let warmUp = containers[0]
        let warmUpPorts = ["18091:80/tcp"]
        _ = try world.attach(warmUp, networks: [network], publish: warmUpPorts)
        try world.detach(warmUp, networks: [network], publish: warmUpPorts)
        #expect(await waitUntil(seconds: 10) { world.aardvarkProcesses().isEmpty }, "aardvark-dns still runs")
        let baseline = try world.firewall()
        let baselineText = baseline.joined(separator: "\n")
        #expect(baseline.contains { $0.contains("NETAVARK") }, "no netavark chains after a cycle: \(baselineText)")
        for leftover in ["18091", cidr, cidr6] {
          #expect(!baselineText.contains(leftover), "the warm-up left \(leftover) behind: \(baselineText)")
        }
        #expect(try world.host.linkNames() == ["lo"])

        // The cycle under test, with published ports.
        let container = containers[1]
        let ports = ["18092:80/tcp", "18093:53/udp"]
        let output = try world.attach(container, networks: [network], publish: ports)
        let attached = try Self.attached(output, network: network)
        #expect(attached.addresses.count == 2, "\(attached.ipnets)")
        let address = try #require(attached.addresses.first)
        #expect(address.hasPrefix(prefix))
        let during = try world.firewall().joined(separator: "\n")
        #expect(during.contains("--dport 18092"), "\(during)")
        #expect(during.contains("--dport 18093"), "\(during)")
        #expect(try world.vethEnds().count == 1)

        try world.detach(container, networks: [network], publish: ports)
        let after = try world.firewall()
        #expect(after == baseline, "rules changed by a setup and teardown: \(after.filter { !baseline.contains($0) })")
        #expect(baseline.filter { !after.contains($0) } == [])
        #expect(try world.vethEnds() == [])
        #expect(try world.host.linkNames() == ["lo"], "the bridge or a veth is still in the host namespace")
        #expect(try container.namespace.linkNames() == ["lo"])
        #expect(await waitUntil(seconds: 10) { world.aardvarkProcesses().isEmpty }, "aardvark-dns still runs")

        // IPAM holds nothing for the container: no rows, and both its addresses can be taken again at once.
        if let rows = try world.ipamRows(of: container.id) { #expect(rows == [], "\(rows)") }
        let next = containers[2]
        let reuse = ["\(network):" + attached.addresses.map { "ip=\($0)" }.joined(separator: ",")]
        let again = try world.attach(next, networks: reuse)
        #expect(try Self.attached(again, network: network).addresses == attached.addresses)
        try world.detach(next, networks: reuse)
        if let rows = try world.ipamRows(of: next.id) { #expect(rows == [], "\(rows)") }
        // No container holds the network any more, so it is removed without --force.
        #expect(try world.succeed(["rm", network]) == "\(network)\n")
        #expect(try world.firewall() == baseline)
      }
    }
  }

  /// Podman's IPAM gives a container one address per subnet: the static one where it names one, a free one in the
  /// others. netavark indexes the addresses by subnet, and netavark 1.4 panics when one is missing.
  @Test func aStaticIPv4OnADualStackNetworkAlsoGetsAnIPv6Address() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let container = containers[0]
        let network = UniqueName.make("nvq")
        let (cidr, prefix) = Self.subnet()
        let (cidr6, prefix6) = Self.subnet6()
        try world.succeed(["create", "--disable-dns", "--subnet", cidr, "--subnet", cidr6, network])
        let spec = ["\(network):ip=\(prefix)40"]
        let output = try world.attach(container, networks: spec)
        let attached = try Self.attached(output, network: network)
        #expect(attached.addresses.first == "\(prefix)40")
        #expect(attached.addresses.count == 2, "\(attached.ipnets)")
        #expect(attached.addresses.last?.hasPrefix(prefix6) == true, "\(attached.ipnets)")
        let shown = try container.namespace.run(["ip", "-o", "addr", "show", "dev", attached.interface]).stdout
        #expect(shown.contains("inet \(prefix)40/24 "), "\(shown)")
        #expect(shown.contains("inet6 \(prefix6)"), "\(shown)")
        try world.detach(container, networks: spec)
        #expect(try container.namespace.linkNames() == ["lo"])
        #expect(try world.vethEnds() == [])
      }
    }
  }

  @Test func anExhaustedSubnetIsRefusedAndAttachesNothing() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(6) { containers in
        let network = UniqueName.make("nvx")
        let third = Int.random(in: 1...254)
        let prefix = "10.233.\(third)."
        let cidr = "\(prefix)8/29"
        try world.succeed(["create", "--disable-dns", "--subnet", cidr, network])

        // .9 is the gateway; .10 to .14 are the five addresses to hand out, .15 is the broadcast address.
        var addresses: [String] = []
        for container in containers.prefix(5) {
          let output = try world.attach(container, networks: [network])
          addresses += try Self.attached(output, network: network).addresses
        }
        #expect(addresses.sorted() == (10...14).map { "\(prefix)\($0)" }, "\(addresses)")

        let last = containers[5]
        let refused = try world.setup(last, networks: [network])
        #expect(refused.status == 125)
        #expect(refused.stdout == "")
        #expect(refused.stderr.hasPrefix("Error: "), "\(refused.stderr)")
        #expect(
          refused.stderr.contains("no free address left in \(prefix)9-\(prefix)14 of network \(network)"),
          "\(refused.stderr)")
        #expect(refused.stderr.contains("(subnet \(cidr))"), "\(refused.stderr)")
        #expect(try last.namespace.linkNames() == ["lo"])
        #expect(try world.vethEnds().count == 5)
        if let rows = try world.ipamRows(of: last.id) { #expect(rows == [], "\(rows)") }

        // One leaves; the newcomer gets exactly the address it freed.
        try world.detach(containers[2], networks: [network])
        let output = try world.attach(last, networks: [network])
        #expect(try Self.attached(output, network: network).addresses == [addresses[2]])

        for container in containers where container.id != containers[2].id {
          try world.detach(container, networks: [network])
        }
        #expect(try world.vethEnds() == [])
        #expect(try world.succeed(["rm", network]) == "\(network)\n")
      }
    }
  }

  @Test func eightConcurrentSetupsGetDistinctAddresses() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(8) { containers in
        let network = UniqueName.make("nvc")
        let (cidr, prefix) = Self.subnet()
        try world.succeed(["create", "--subnet", cidr, network])

        /// Starts one `cnet` per container at once and waits for all of them; their statuses and outputs.
        func concurrently(_ command: String) async throws -> [(status: Int32?, stdout: String, stderr: String)] {
          let processes = try containers.map { container in
            try BackgroundCommand(
              world.sandbox,
              world.globalOptions + [command] + world.attachArguments(container, networks: [network]))
          }
          defer { processes.forEach { $0.kill() } }
          var results: [(status: Int32?, stdout: String, stderr: String)] = []
          for process in processes {
            let status = await process.wait()
            results.append((status, process.stdout(), process.stderr()))
          }
          return results
        }

        let setups = try await concurrently("setup")
        var addresses: [String] = []
        for (container, result) in zip(containers, setups) {
          #expect(result.status == 0, "setup of \(container.name): \(result.stderr)")
          #expect(result.stderr == "")
          guard result.status == 0 else { continue }
          let attached = try Self.attached(result.stdout, network: network)
          let address = try #require(attached.addresses.first)
          #expect(address.hasPrefix(prefix), "\(address) is not in \(cidr)")
          let shown = try container.namespace.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
          #expect(shown.contains("inet \(address)/24 "), "\(shown)")
          addresses.append(address)
        }
        #expect(addresses.count == 8)
        #expect(Set(addresses).count == addresses.count, "an address was handed out twice: \(addresses.sorted())")
        #expect(try world.vethEnds().count == 8)

        let teardowns = try await concurrently("teardown")
        for (container, result) in zip(containers, teardowns) {
          #expect(result.status == 0, "teardown of \(container.name): \(result.stderr)")
          #expect(result.stdout == "" && result.stderr == "")
          #expect(try container.namespace.linkNames() == ["lo"])
          if let rows = try world.ipamRows(of: container.id) { #expect(rows == [], "\(rows)") }
        }
        #expect(try world.vethEnds() == [])
        #expect(await waitUntil(seconds: 10) { world.aardvarkProcesses().isEmpty }, "aardvark-dns still runs")
        #expect(try world.succeed(["rm", network]) == "\(network)\n")
      }
    }
  }

  @Test func aStaticAddressThatIsTakenIsRefused() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(2) { containers in
        let network = UniqueName.make("nvi")
        let (cidr, prefix) = Self.subnet()
        try world.succeed(["create", "--disable-dns", "--subnet", cidr, network])
        let address = "\(prefix)50"
        let owner = containers[0]
        let spec = ["\(network):ip=\(address)"]
        let output = try world.attach(owner, networks: spec)
        #expect(try Self.attached(output, network: network).addresses == [address])

        let second = containers[1]
        let refused = try world.setup(second, networks: spec)
        #expect(refused.status == 125)
        #expect(refused.stdout == "")
        #expect(
          refused.stderr.contains("requested ip address \(address) is already allocated to container ID \(owner.id)"),
          "\(refused.stderr)")
        #expect(try second.namespace.linkNames() == ["lo"])
        if let rows = try world.ipamRows(of: second.id) { #expect(rows == [], "\(rows)") }
        // The owner keeps its address and interface.
        let shown = try owner.namespace.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
        #expect(shown.contains("inet \(address)/24 "), "\(shown)")
        #expect(try world.vethEnds().count == 1)

        try world.detach(owner, networks: spec)
        #expect(try world.vethEnds() == [])
        #expect(try owner.namespace.linkNames() == ["lo"])
      }
    }
  }

  typealias Server = NamespaceServer

  @Test func publishedPortsCarryTCPAndUDPWithAHostIPAndARange() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let container = containers[0]
        let name = UniqueName.make("nvport")
        let (cidr, prefix) = Self.subnet()
        let gateway = "\(prefix)1"
        try world.succeed(["create", "--disable-dns", "--subnet", cidr, name])
        let site = world.sandbox.root.appending("site")
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        try "hello over tcp\n".write(toFile: "\(site)/index.html", atomically: true, encoding: .utf8)
        let publish = ["18120-18121:80-81/tcp", "18122:53/udp", "\(gateway):18123:80/tcp"]
        try world.attach(container, networks: [name], publish: publish)
        var servers: [Server] = []
        defer { servers.forEach { $0.stop() } }
        for port in ["80", "81"] {
          servers.append(
            try Server(
              in: container.namespace, ["busybox", "httpd", "-f", "-p", port, "-h", site],
              output: world.sandbox.root.appending("httpd\(port).out")))
        }
        let udp = try Server(
          in: container.namespace, ["nc.openbsd", "-u", "-l", "53"], output: world.sandbox.root.appending("udp.out"))
        servers.append(udp)
        // From the host namespace to its own address on the bridge: netavark's DNAT for local destinations.
        func fetch(_ port: Int) async -> String {
          var text = ""
          _ = await waitUntil(seconds: 10) {
            text =
              (try? world.host.run(
                ["curl", "-s", "--max-time", "2", "http://\(gateway):\(port)/"], check: false
              ).stdout) ?? ""
            return text == "hello over tcp\n"
          }
          return text
        }
        for port in [18120, 18121, 18123] {
          #expect(await fetch(port) == "hello over tcp\n", "port \(port)")
        }
        let delivered = await waitUntil(seconds: 10) {
          _ = try? world.host.run(
            ["sh", "-c", "echo hello over udp | nc.openbsd -u -w 1 \(gateway) 18122"], check: false)
          return ((try? String(contentsOfFile: udp.output, encoding: .utf8)) ?? "").contains("hello over udp")
        }
        #expect(delivered, "no datagram reached the container through 18122/udp")
        // The host-IP mapping answers only on that address: 127.0.0.1 is not it.
        let loopback = try world.host.run(
          ["curl", "-s", "--max-time", "2", "http://127.0.0.1:18123/"], check: false)
        #expect(loopback.stdout != "hello over tcp\n")
        try world.detach(container, networks: [name], publish: publish)
        #expect(!(try world.firewall().contains { $0.contains("18120") || $0.contains("18122") }))
      }
    }
  }

  @Test func aContainerWhoseNamespaceIsGoneIsStillTornDownCompletely() async throws {
    try await Self.withWorld { world in
      let name = UniqueName.make("nvgone")
      let (cidr, _) = Self.subnet()
      try world.succeed(["create", "--subnet", cidr, name])
      // Warm-up: netavark makes its skeleton chains and aardvark-dns on first use, as under Podman.
      try await Self.withContainers(1) { containers in
        try world.attach(containers[0], networks: [name], publish: ["18130:80/tcp"])
        try world.detach(containers[0], networks: [name], publish: ["18130:80/tcp"])
      }
      let baseline = try world.firewall()
      let namespace = try TestNamespace(prefix: "nvg")
      let container = Container(namespace)
      try world.attach(container, networks: [name], publish: ["18131:80/tcp"])
      #expect(try world.firewall().contains { $0.contains("18131") })
      namespace.remove()
      // The container died without a teardown; its engine tears it down afterwards.
      try world.detach(container, networks: [name])
      #expect(try world.firewall() == baseline)
      #expect(try world.vethEnds() == [])
      if let rows = try world.ipamRows(of: container.id) { #expect(rows == []) }
      // Repeated, it is still a success.
      try world.detach(container, networks: [name])
      #expect(await waitUntil(seconds: 10) { world.aardvarkProcesses().isEmpty })
    }
  }

  @Test func createDNSAndUpdateReachTheRunningDNSServer() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let name = UniqueName.make("nvdns")
        let (cidr, prefix) = Self.subnet()
        try world.succeed(["create", "--subnet", cidr, "--dns", "192.0.2.53,192.0.2.54", name])
        let inspected = try #require(try parseJSON(try world.succeed(["inspect", name])) as? [[String: Any]])
        #expect(inspected.first?["network_dns_servers"] as? [String] == ["192.0.2.53", "192.0.2.54"])
        try world.attach(containers[0], networks: [name])
        let config = "\(world.runDir)/aardvark-dns/\(name)"
        func firstLine() -> String {
          ((try? String(contentsOfFile: config, encoding: .utf8)) ?? "").split(separator: "\n").first.map(String.init)
            ?? ""
        }
        #expect(firstLine().hasPrefix("\(prefix)1") && firstLine().contains("192.0.2.53"), "\(firstLine())")
        #expect(
          try world.succeed(["update", "--dns-add", "192.0.2.99", "--dns-drop", "192.0.2.53", name]) == "\(name)\n")
        #expect(firstLine().contains("192.0.2.99") && !firstLine().contains("192.0.2.53"), "\(firstLine())")
        let updated = try #require(try parseJSON(try world.succeed(["inspect", name])) as? [[String: Any]])
        #expect(updated.first?["network_dns_servers"] as? [String] == ["192.0.2.54", "192.0.2.99"])
        // Comma lists, as Podman splits them.
        try world.succeed(["update", "--dns-add", "192.0.2.7,192.0.2.8", "--dns-drop", "192.0.2.54,192.0.2.99", name])
        #expect(firstLine().contains("192.0.2.7,192.0.2.8") && !firstLine().contains("192.0.2.99"), "\(firstLine())")
        let split = try #require(try parseJSON(try world.succeed(["inspect", name])) as? [[String: Any]])
        #expect(split.first?["network_dns_servers"] as? [String] == ["192.0.2.7", "192.0.2.8"])
        try world.detach(containers[0], networks: [name])
      }
    }
  }

  /// macvlan, the other driver netavark 1.4 has; a veth end stands in for the parent (this kernel has no dummy links).
  @Test func aMacvlanNetworkGivesTheContainerAMacvlanInterface() async throws {
    try await Self.withWorld { world in
      try await Self.withContainers(1) { containers in
        let parent = "nvmvp\(UInt16.random(in: 0...9999))"
        try world.host.run(["ip", "link", "add", parent, "type", "veth", "peer", "name", parent + "b"])
        try world.host.run(["ip", "link", "set", parent, "up"])
        let name = UniqueName.make("nvmv")
        let (cidr, prefix) = Self.subnet()
        try world.succeed([
          "create", "-d", "macvlan", "-o", "parent=\(parent)", "-o", "mode=bridge", "--subnet", cidr, name,
        ])
        let inspected = try #require(try parseJSON(try world.succeed(["inspect", name])) as? [[String: Any]])
        #expect(inspected.first?["network_interface"] as? String == parent)
        #expect((inspected.first?["options"] as? [String: String])?["mode"] == "bridge")
        let attached = try Self.attached(try world.attach(containers[0], networks: [name]), network: name)
        #expect(attached.addresses.first?.hasPrefix(prefix) == true)
        let link = try containers[0].namespace.run(["ip", "-d", "link", "show", attached.interface]).stdout
        #expect(link.contains("macvlan mode bridge"), "\(link)")
        try world.detach(containers[0], networks: [name])
        #expect(try containers[0].namespace.linkNames() == ["lo"])
      }
    }
  }
}
