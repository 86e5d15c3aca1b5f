import ContainerNetworkCore
import Foundation
import NetworkAddress
import NetworkBackendFactory
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What the DNS root tests need; outside the suite, whose attribute cannot refer to the suite itself.
private enum DNSRootRequirements {
  static let aardvark = "/usr/lib/podman/aardvark-dns"
  /// Under CI this is always true, so a missing program fails the test instead of skipping it.
  static let met =
    TestEnvironment.canRunPrivileged && TestEnvironment.canUse("busybox") && TestEnvironment.canUse("python3")
    && TestEnvironment.canUse(aardvark)
}

/// Container names on the native backend, served by the real aardvark-dns: queries from the containers' own
/// namespaces to the gateway (`busybox nslookup NAME GATEWAY`: the namespaces have no resolv.conf of their own).
///
/// Each test has the world of ``NativeBackendRootTests`` (a private host namespace, where aardvark-dns runs, and its
/// own directories) and an "upstream" namespace joined to that host by a veth, where two tiny DNS servers (python3)
/// answer `upstream.example` with 203.0.113.7 (10.78.250.2) and 203.0.113.8 (10.78.250.3) and NXDOMAIN for any
/// other name. Afterwards every aardvark-dns started from the test's directory and both servers are killed.
@Suite(
  .enabled(
    if: DNSRootRequirements.met, "needs root, busybox (nslookup), python3 (an upstream server) and aardvark-dns"),
  .serialized)
struct NativeBackendDNSRootTests {
  typealias World = NativeBackendRootTests.World
  typealias Container = NativeBackendRootTests.Container

  static let firstUpstream = "10.78.250.2"
  static let secondUpstream = "10.78.250.3"

  /// A world with the upstream servers; kills what it started even when `body` throws.
  static func withDNSWorld(_ body: (World) async throws -> Void) async throws {
    try #require(TestEnvironment.hasExecutable(DNSRootRequirements.aardvark), "aardvark-dns is missing")
    try #require(TestEnvironment.hasExecutable("python3"), "python3 is missing")
    try await NativeBackendRootTests.withWorld { world in
      defer { killServers(startedFrom: world.root.path) }
      let upstream = try TestNamespace(prefix: "nbu")
      defer { upstream.remove() }
      try runCommand(
        [
          "ip", "-n", upstream.name, "link", "add", "eth0", "type", "veth", "peer", "name", "up0", "netns",
          world.host.name,
        ])
      try runCommand(["ip", "-n", world.host.name, "addr", "add", "10.78.250.1/24", "dev", "up0"])
      try runCommand(["ip", "-n", world.host.name, "link", "set", "up0", "up"])
      for address in [firstUpstream, secondUpstream] {
        try upstream.run(["ip", "addr", "add", "\(address)/24", "dev", "eth0"])
      }
      try upstream.run(["ip", "link", "set", "eth0", "up"])
      let script = world.root.appending("upstream.py")
      try upstreamServer.write(toFile: script, atomically: true, encoding: .utf8)
      var servers: [Process] = []
      defer {
        // SIGKILL: the server runs with SIGTERM blocked (Foundation's Process leaves it so in its children).
        for server in servers {
          kill(server.processIdentifier, SIGKILL)
          server.waitUntilExit()
        }
      }
      for (address, answer) in [(firstUpstream, "203.0.113.7"), (secondUpstream, "203.0.113.8")] {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["ip", "netns", "exec", upstream.name, "python3", script, address, answer]
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        servers.append(server)
        let ready = await waitUntil(seconds: 10) {
          (try? Self.lookup("upstream.example", from: world.host, server: address))?.addresses == [answer]
        }
        try #require(ready, "the upstream server on \(address) does not answer")
      }
      try await body(world)
    }
  }

  /// SIGKILL to every process whose command line names the test's directory: the aardvark-dns it started, and only
  /// those (the directory's name is unique).
  static func killServers(startedFrom directory: String) {
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
      guard let pid = pid_t(entry), pid != getpid(),
        let arguments = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
        String(decoding: arguments, as: UTF8.self).contains(directory)
      else { continue }
      kill(pid, SIGKILL)
    }
  }

  /// A tiny DNS server for one address: A records for `upstream.example`, NXDOMAIN for anything else.
  static let upstreamServer = """
    import socket, struct, sys
    address, answer = sys.argv[1], sys.argv[2]
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((address, 53))
    while True:
        query, peer = server.recvfrom(512)
        ident, flags = struct.unpack("!HH", query[:4])
        end, labels = 12, []
        while query[end]:
            labels.append(query[end + 1:end + 1 + query[end]].decode().lower())
            end += 1 + query[end]
        qtype = struct.unpack("!H", query[end + 1:end + 3])[0]
        question = query[12:end + 5]
        known = ".".join(labels) == "upstream.example"
        records = b"\\xc0\\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(answer) if known and qtype == 1 else b""
        header = struct.pack("!HHHHHH", ident, 0x8180 | (flags & 0x0100) | (0 if known else 3), 1, 1 if records else 0, 0, 0)
        server.sendto(header + question + records, peer)
    """

  /// What `busybox nslookup` printed: its exit status and the addresses of the answers.
  struct Answer {
    var status: Int32
    var addresses: [String]
    var output: String
  }

  static func lookup(_ name: String, from namespace: TestNamespace, server: String) throws -> Answer {
    let result = try namespace.run(["busybox", "nslookup", name, server], check: false)
    // Answers are `Address: X`; the server's own line is `Address:<TAB>X:53`.
    let addresses = result.stdout.split(separator: "\n").filter { $0.hasPrefix("Address: ") }
      .map { String($0.dropFirst("Address: ".count)) }
    return Answer(status: result.status, addresses: addresses.sorted(), output: result.stdout + result.stderr)
  }

  static func lookup(_ name: String, from container: Container, server: String) throws -> Answer {
    try lookup(name, from: container.namespace, server: server)
  }

  /// The container's addresses on `network` from its status.
  static func addresses(_ statuses: [String: StatusBlock], _ network: String) throws -> [String] {
    try #require(statuses[network]).interfaces.values.flatMap(\.subnets).map { "\($0.ipnet.address)" }.sorted()
  }

  static func dnsNetwork(_ subnets: [String], internal: Bool = false, servers: [String] = [firstUpstream]) -> Network {
    Network(
      name: UniqueName.make("nbd"), driver: "bridge", subnets: subnets.map { Subnet(subnet: IPNetwork($0)!) },
      internal: `internal`, dnsEnabled: true, networkDNSServers: servers)
  }

  /// The pid of the test's aardvark-dns, from the pid file it writes.
  static func serverPID(_ world: World) -> pid_t? {
    (try? String(contentsOfFile: world.runDir + "/aardvark-dns/aardvark.pid", encoding: .utf8)).flatMap { pid_t($0) }
  }

  /// Whether `pid` runs (a zombie that init has yet to reap does not).
  static func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return false }
    return !stat[close...].hasPrefix(") Z")
  }

  // MARK: Tests

  /// Two containers find each other by name and alias over both families; other names go to the network's upstream
  /// server, or to the container's own; the status says what netavark 1.4 says.
  @Test func namesAndAliasesResolveAndOtherNamesGoUpstream() async throws {
    try await Self.withDNSWorld { world in
      let network = try await world.create(Self.dnsNetwork(["10.78.1.0/24", "fd78:1::/64"]))
      let plain = try await world.create(
        Network(
          name: UniqueName.make("nbp"), driver: "bridge", subnets: [Subnet(subnet: IPNetwork("10.78.2.0/24")!)]))
      try await NativeBackendRootTests.withContainers(3) { containers in
        let (web, client, other) = (containers[0], containers[1], containers[2])
        let webStatus = try await world.setup(web, [network.name: PerNetworkOptions(aliases: ["web"])])
        let clientStatus = try await world.backend.setup(
          namespacePath: client.namespace.path,
          options: NetworkOptions(
            containerID: client.id, containerName: client.name, networks: [network.name: PerNetworkOptions()],
            dnsServers: [Self.secondUpstream]))
        let block = try #require(webStatus[network.name])
        #expect(block.dnsServerIPs == [IPAddress("10.78.1.1")!, IPAddress("fd78:1::1")!])
        #expect(block.dnsSearchDomains == ["dns.podman"])
        // A network without DNS reports the container's own servers, as netavark 1.4 does, and no search domain.
        let plainStatus = try await world.backend.setup(
          namespacePath: other.namespace.path,
          options: NetworkOptions(
            containerID: other.id, containerName: other.name, networks: [plain.name: PerNetworkOptions()],
            dnsServers: [Self.firstUpstream]))
        #expect(plainStatus[plain.name]?.dnsServerIPs == [IPAddress(Self.firstUpstream)!])
        #expect(plainStatus[plain.name]?.dnsSearchDomains == [])

        let webAddresses = try Self.addresses(webStatus, network.name)
        let clientAddresses = try Self.addresses(clientStatus, network.name)
        for name in [web.name, "web", web.name.uppercased(), "\(web.name).dns.podman"] {
          let answer = try Self.lookup(name, from: client, server: "10.78.1.1")
          #expect(answer.addresses == webAddresses, "\(name): \(answer.output)")
        }
        let overIPv6 = try Self.lookup(client.name, from: web, server: "fd78:1::1")
        #expect(overIPv6.addresses == clientAddresses, "\(overIPv6.output)")
        // Other names: the network's upstream for one, the container's own servers for the other.
        #expect(try Self.lookup("upstream.example", from: web, server: "10.78.1.1").addresses == ["203.0.113.7"])
        #expect(try Self.lookup("upstream.example", from: client, server: "10.78.1.1").addresses == ["203.0.113.8"])
        let unknown = try Self.lookup("nobody.example", from: web, server: "10.78.1.1")
        #expect(unknown.status != 0 && unknown.output.contains("NXDOMAIN"), "\(unknown.output)")
        try await world.teardown(web, networks: [network.name])
        try await world.teardown(client, networks: [network.name])
        try await world.teardown(other, networks: [plain.name])
      }
    }
  }

  /// A container on two networks (one internal) is found on each with that network's address; containers that
  /// share no network do not find each other.
  @Test func aContainerOnTwoNetworksIsFoundOnEachAndTheOthersStayApart() async throws {
    try await Self.withDNSWorld { world in
      let first = try await world.create(Self.dnsNetwork(["10.78.3.0/24"]))
      let second = try await world.create(Self.dnsNetwork(["10.78.4.0/24"], internal: true))
      try await NativeBackendRootTests.withContainers(3) { containers in
        let (both, onFirst, onSecond) = (containers[0], containers[1], containers[2])
        let bothStatus = try await world.setup(
          both,
          [first.name: PerNetworkOptions(interfaceName: "eth0"), second.name: PerNetworkOptions(interfaceName: "eth1")])
        _ = try await world.setup(onFirst, [first.name: PerNetworkOptions()])
        _ = try await world.setup(onSecond, [second.name: PerNetworkOptions()])
        #expect(bothStatus[second.name]?.dnsServerIPs == [IPAddress("10.78.4.1")!])
        #expect(bothStatus[second.name]?.dnsSearchDomains == ["dns.podman"])

        var answer = try Self.lookup(both.name, from: onFirst, server: "10.78.3.1")
        #expect(answer.addresses == (try Self.addresses(bothStatus, first.name)), "\(answer.output)")
        answer = try Self.lookup(both.name, from: onSecond, server: "10.78.4.1")
        #expect(answer.addresses == (try Self.addresses(bothStatus, second.name)), "\(answer.output)")
        answer = try Self.lookup(onSecond.name, from: onFirst, server: "10.78.3.1")
        #expect(answer.addresses == [] && answer.output.contains("NXDOMAIN"), "\(answer.output)")
        answer = try Self.lookup(onFirst.name, from: onSecond, server: "10.78.4.1")
        #expect(answer.addresses == [] && answer.output.contains("NXDOMAIN"), "\(answer.output)")
        for (container, networks) in [
          (both, [first.name, second.name]), (onFirst, [first.name]), (onSecond, [second.name]),
        ] {
          try await world.teardown(container, networks: networks)
        }
      }
    }
  }

  /// A teardown takes the container's name away at once; the last one stops the server.
  @Test func teardownRemovesTheNameAndTheLastOneStopsTheServer() async throws {
    try await Self.withDNSWorld { world in
      let network = try await world.create(Self.dnsNetwork(["10.78.5.0/24"]))
      try await NativeBackendRootTests.withContainers(2) { containers in
        let (leaving, staying) = (containers[0], containers[1])
        let leavingStatus = try await world.setup(leaving, [network.name: PerNetworkOptions()])
        _ = try await world.setup(staying, [network.name: PerNetworkOptions()])
        let pid = try #require(Self.serverPID(world))
        #expect(
          try Self.lookup(leaving.name, from: staying, server: "10.78.5.1").addresses
            == (try Self.addresses(leavingStatus, network.name)))
        try await world.teardown(leaving, networks: [network.name])
        let gone = try Self.lookup(leaving.name, from: staying, server: "10.78.5.1")
        #expect(gone.addresses == [] && gone.output.contains("NXDOMAIN"), "\(gone.output)")
        #expect(Self.isRunning(pid))
        try await world.teardown(staying, networks: [network.name])
        // The teardown waits for it to exit.
        #expect(!Self.isRunning(pid), "aardvark-dns \(pid) still runs after the last teardown")
        let left = try FileManager.default.contentsOfDirectory(atPath: world.runDir + "/aardvark-dns")
        #expect(left == [], "\(left)")
      }
    }
  }

  /// `cnet update --dns-add/--dns-drop` switches a running network's upstream server.
  @Test func updateSwitchesTheUpstreamServerOfARunningNetwork() async throws {
    try await Self.withDNSWorld { world in
      let network = try await world.create(Self.dnsNetwork(["10.78.6.0/24"], servers: [Self.secondUpstream]))
      try await NativeBackendRootTests.withContainers(1) { containers in
        _ = try await world.setup(containers[0], [network.name: PerNetworkOptions()])
        #expect(
          try Self.lookup("upstream.example", from: containers[0], server: "10.78.6.1").addresses == ["203.0.113.8"])
        let cnet = try BuiltProduct.require("cnet")
        let result = try runCommand(
          [cnet] + world.globalOptions
            + ["update", "--dns-add", Self.firstUpstream, "--dns-drop", Self.secondUpstream, network.name],
          check: false)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
          try Self.lookup("upstream.example", from: containers[0], server: "10.78.6.1").addresses == ["203.0.113.7"])
        try await world.teardown(containers[0], networks: [network.name])
      }
    }
  }

  /// A server that cannot start fails the setup in one line, and nothing of the setup is left.
  @Test func aServerThatCannotStartFailsTheSetupAndLeavesNothing() async throws {
    try await Self.withDNSWorld { world in
      let helpers = world.root.appending("helpers")
      try FileManager.default.createDirectory(atPath: helpers, withIntermediateDirectories: true)
      try "#!/bin/sh\necho 'Error: no room to serve' >&2\nexit 1\n".write(
        toFile: helpers + "/aardvark-dns", atomically: true, encoding: .utf8)
      chmod(helpers + "/aardvark-dns", 0o755)
      var settings = NetworkSettings()
      settings.backend = .native
      settings.configDirectory = world.configDir
      settings.runDirectory = world.runDir
      settings.hostNamespacePath = world.host.path
      settings.helperDirectories = [helpers]
      let backend = try NetworkBackendFactory.makeBackend(settings)
      let network = try await world.create(Self.dnsNetwork(["10.78.7.0/24"]))
      try await NativeBackendRootTests.withContainers(1) { containers in
        let container = containers[0]
        do {
          _ = try await backend.setup(
            namespacePath: container.namespace.path,
            options: NetworkOptions(
              containerID: container.id, containerName: container.name, networks: [network.name: PerNetworkOptions()]))
          Issue.record("the setup succeeded without a DNS server")
        } catch let error as NetworkError {
          #expect(!error.message.contains("\n"), "\(error.message)")
          #expect(
            error.message.contains("aardvark-dns") && error.message.contains("no room to serve"), "\(error.message)")
        }
        #expect(try world.vethEnds() == [])
        #expect(world.stateFiles() == [])
        #expect(try container.namespace.linkNames() == ["lo"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: world.runDir + "/aardvark-dns") == [])
        // Nothing of it stands in the way: the same container sets up with the real server.
        _ = try await world.setup(container, [network.name: PerNetworkOptions()])
        try await world.teardown(container, networks: [network.name])
      }
    }
  }

  /// A teardown after the server died (killed) works and leaves no name behind.
  @Test func teardownWorksWhenTheServerIsGone() async throws {
    try await Self.withDNSWorld { world in
      let network = try await world.create(Self.dnsNetwork(["10.78.8.0/24"]))
      try await NativeBackendRootTests.withContainers(2) { containers in
        _ = try await world.setup(containers[0], [network.name: PerNetworkOptions()])
        _ = try await world.setup(containers[1], [network.name: PerNetworkOptions()])
        let pid = try #require(Self.serverPID(world))
        kill(pid, SIGKILL)
        _ = await waitUntil(seconds: 5) { !Self.isRunning(pid) }
        try await world.teardown(containers[0], networks: [network.name])
        let file = try String(contentsOfFile: world.runDir + "/aardvark-dns/\(network.name)", encoding: .utf8)
        #expect(!file.contains(containers[0].id) && file.contains(containers[1].id), "\(file)")
        // The next setup starts a new server, which knows the remaining container.
        try await NativeBackendRootTests.withContainers(1) { late in
          _ = try await world.setup(late[0], [network.name: PerNetworkOptions()])
          #expect(try Self.lookup(containers[1].name, from: late[0], server: "10.78.8.1").addresses.count == 1)
          try await world.teardown(late[0], networks: [network.name])
        }
        try await world.teardown(containers[1], networks: [network.name])
      }
    }
  }

  /// gc removes the names of containers that died without a teardown; with the last, the server stops.
  @Test func gcRemovesTheNamesOfDeadContainers() async throws {
    try await Self.withDNSWorld { world in
      let network = try await world.create(Self.dnsNetwork(["10.78.9.0/24"]))
      try await NativeBackendRootTests.withContainers(1) { survivors in
        let survivor = survivors[0]
        _ = try await world.setup(survivor, [network.name: PerNetworkOptions()])
        try await NativeBackendRootTests.withContainers(1) { dying in
          _ = try await world.setup(dying[0], [network.name: PerNetworkOptions()])
          #expect(try Self.lookup(dying[0].name, from: survivor, server: "10.78.9.1").addresses.count == 1)
          dying[0].namespace.remove()
          let stale = try await world.backend.collectGarbage(dryRun: false)
          #expect(stale.map(\.containerID).contains(dying[0].id), "\(stale)")
          let gone = try Self.lookup(dying[0].name, from: survivor, server: "10.78.9.1")
          #expect(gone.output.contains("NXDOMAIN"), "\(gone.output)")
        }
        let pid = try #require(Self.serverPID(world))
        survivor.namespace.remove()
        _ = try await world.backend.collectGarbage(dryRun: false)
        #expect(!Self.isRunning(pid), "aardvark-dns \(pid) still runs with no container left")
      }
    }
  }

  /// containers.conf's `dns_bind_port`: aardvark-dns listens on another port, and the firewall redirects the
  /// containers' queries to the gateway's port 53 to it, as netavark does; `rm` takes the redirect away.
  @Test func aServerOnTheDNSBindPortAnswersOnPort53() async throws {
    try await Self.withDNSWorld { world in
      var settings = NetworkSettings()
      settings.backend = .native
      settings.configDirectory = world.configDir
      settings.runDirectory = world.runDir
      settings.hostNamespacePath = world.host.path
      settings.dnsBindPort = 5354
      let backend = try NetworkBackendFactory.makeBackend(settings)
      try await NativeBackendRootTests.withContainers(2) { containers in
        let network = try await backend.create(Self.dnsNetwork(["10.78.30.0/24"]))
        let gateway = "10.78.30.1"
        var statuses: [[String: StatusBlock]] = []
        for container in containers {
          statuses.append(
            try await backend.setup(
              namespacePath: container.namespace.path,
              options: NetworkOptions(
                containerID: container.id, containerName: container.name,
                networks: [network.name: PerNetworkOptions()])))
        }
        let listening = try world.host.run(["ss", "-lun"]).stdout
        #expect(listening.contains("\(gateway):5354") && !listening.contains("\(gateway):53 "), "\(listening)")
        let answer = try Self.lookup(containers[0].name, from: containers[1], server: gateway)
        #expect(answer.addresses == (try Self.addresses(statuses[0], network.name)), "\(answer.output)")
        for container in containers {
          try await backend.teardown(
            namespacePath: container.namespace.path,
            options: NetworkOptions(
              containerID: container.id, containerName: container.name,
              networks: [NamedPerNetworkOptions(network.name)]))
        }
        try await backend.remove(network.name, force: false)
        let table = try world.host.run(["nft", "list", "table", "inet", "cnet"]).stdout
        #expect(!table.contains(network.networkInterface), "\(table)")
      }
    }
  }
}
