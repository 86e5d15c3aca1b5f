import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Lifecycle (issue 15): a container that dies without a teardown (its namespace deleted) must not keep its static
/// IP, its network or its rules; gc; reload after a flush; rm leaving the firewall as it was. For each backend, with
/// the real plugins and the real netavark in a private host namespace.
@Suite(
  .enabled(
    if: TestEnvironment.canRunRealPlugins && TestEnvironment.canUse("/usr/lib/podman/netavark"),
    "needs root, the CNI plugins and netavark"),
  .serialized)
struct LifecycleTests {
  static let backends = ["cni", "netavark", "native"]

  /// The options that choose `backend`: for netavark and native, also their own run directory.
  static func backendOptions(_ sandbox: CNetSandbox, _ backend: String) -> [String] {
    backend == "cni" ? [] : ["--backend", backend, "--run-dir", sandbox.root.appending("run")]
  }

  /// `cnet` for `backend`: the sandbox's directories and ``backendOptions(_:_:)``.
  static func cnet(_ sandbox: CNetSandbox, _ backend: String, _ arguments: [String]) throws -> CommandResult {
    try sandbox.cnet([arguments[0]] + backendOptions(sandbox, backend) + arguments.dropFirst())
  }

  static func succeed(
    _ sandbox: CNetSandbox, _ backend: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> String {
    let result = try cnet(sandbox, backend, arguments)
    #expect(result.status == 0, "cnet \(arguments): \(result.stderr)", sourceLocation: sourceLocation)
    return result.stdout
  }

  /// The host's firewall as lines: iptables (the CNI plugins' and netavark's), then the native backend's table.
  static func rules(_ host: TestNamespace) throws -> [String] {
    let native = try host.run(["nft", "list", "table", "inet", "cnet"], check: false)
    return try host.run(["iptables-save"]).stdout.split(separator: "\n")
      .filter { !$0.hasPrefix("#") }
      .map { $0.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "", options: .regularExpression) }
      + (native.status == 0 ? native.stdout.split(separator: "\n").map(String.init) : [])
  }

  @Test(
    "a dead container's static IP is reused and its network removed without a teardown",
    arguments: backends)
  func theDeadNamespaceStory(backend: String) async throws {
    let host = try TestNamespace(prefix: "sth")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { sandbox in
      let network = UniqueName.make("dn")
      let third = Int.random(in: 1...254)
      let ip = "10.77.\(third).5"
      _ = try Self.succeed(sandbox, backend, ["create", "--disable-dns", "--subnet", "10.77.\(third).0/24", network])
      let dead = try TestNamespace(prefix: "std")
      defer { dead.remove() }
      _ = try Self.succeed(
        sandbox, backend, ["setup", "--container-id", "deadbeef01", "--network", "\(network):ip=\(ip)", dead.path])
      dead.remove()  // The container died; nobody ran a teardown.

      let next = try TestNamespace(prefix: "stn")
      defer { next.remove() }
      let output = try Self.succeed(
        sandbox, backend, ["setup", "--container-id", "cafe02", "--network", "\(network):ip=\(ip)", next.path])
      #expect(output.contains("\"\(ip)/24\""), "\(output)")
      #expect(try next.run(["ip", "-o", "-4", "addr"]).stdout.contains(ip))
      _ = try Self.succeed(sandbox, backend, ["teardown", "--container-id", "cafe02", "--network", network, next.path])
      // Only the dead container "used" the network: rm needs no --force and no teardown of it.
      #expect(try Self.succeed(sandbox, backend, ["rm", network]) == "\(network)\n")
    }
  }

  @Test("gc tears down what dead containers left and lists it; --dry-run only lists", arguments: backends)
  func gcRemovesWhatDeadContainersLeft(backend: String) async throws {
    let host = try TestNamespace(prefix: "sgh")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { sandbox in
      let network = UniqueName.make("gc")
      let third = Int.random(in: 1...254)
      _ = try Self.succeed(sandbox, backend, ["create", "--disable-dns", "--subnet", "10.78.\(third).0/24", network])
      // Warm-up: the plugins' and netavark's shared chains (and netavark's per-network port chain) appear on first
      // use and stay, under Podman too.
      let warm = try TestNamespace(prefix: "sgw")
      defer { warm.remove() }
      _ = try Self.succeed(
        sandbox, backend, ["setup", "--container-id", "warm01", "--network", network, "-p", "18909:80", warm.path])
      _ = try Self.succeed(sandbox, backend, ["teardown", "--container-id", "warm01", "--network", network, warm.path])
      let baseline = try Self.rules(host)

      let live = try TestNamespace(prefix: "sgl")
      defer { live.remove() }
      _ = try Self.succeed(sandbox, backend, ["setup", "--container-id", "live01", "--network", network, live.path])
      var dead: [TestNamespace] = []
      defer { dead.forEach { $0.remove() } }
      for index in 0..<2 {
        let namespace = try TestNamespace(prefix: "sgd")
        dead.append(namespace)
        _ = try Self.succeed(
          sandbox, backend,
          ["setup", "--container-id", "dead0\(index)", "--network", network, "-p", "1890\(index):80", namespace.path])
      }
      dead.forEach { $0.remove() }

      let expected = dead.enumerated().map { "dead0\($0.offset) \(network) \($0.element.path)\n" }.joined()
      #expect(try Self.succeed(sandbox, backend, ["gc", "--dry-run"]) == expected)
      #expect(try Self.rules(host).contains { $0.contains("18900") })
      #expect(try Self.succeed(sandbox, backend, ["gc"]) == expected)
      #expect(try Self.succeed(sandbox, backend, ["gc"]) == "")
      // The live container is untouched, and once it leaves the firewall is as it was.
      #expect(try live.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout.contains("10.78.\(third)."))
      _ = try Self.succeed(sandbox, backend, ["teardown", "--container-id", "live01", "--network", network, live.path])
      // netavark 1.4 deletes its per-network port chain (an empty `:NETAVARK-DN-…` declaration) only in a teardown
      // that has port mappings and empties it; here the last teardown (live01) has none, and ordinary teardowns in
      // the same order leave the same empty chain. Every rule is compared.
      let after = try Self.rules(host).filter { !($0.hasPrefix(":NETAVARK-DN-") && !baseline.contains($0)) }
      #expect(
        after == baseline,
        "left: \(after.filter { !baseline.contains($0) }), gone: \(baseline.filter { !after.contains($0) })")
      let veths = try runCommand(["ip", "-n", host.name, "-o", "link", "show", "type", "veth"]).stdout
      #expect(veths == "")
    }
  }

  /// `rm` removes what the network's plugins left on the host (the dnsname plugin's rule opening port 53 on the
  /// bridge). The baseline is taken after a first network's whole cycle, because the shared chains of the firewall
  /// plugin and of netavark are made on first use and stay, under Podman too.
  @Test("rm leaves the firewall as it was before create", arguments: backends)
  func rmLeavesTheFirewallAsItWas(backend: String) async throws {
    let host = try TestNamespace(prefix: "srh")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { sandbox in
      func cycle(_ network: String, subnet: String) throws {
        _ = try Self.succeed(sandbox, backend, ["create", "--subnet", subnet, network])
        let container = try TestNamespace(prefix: "src")
        defer { container.remove() }
        _ = try Self.succeed(
          sandbox, backend,
          ["setup", "--container-id", "dns01", "--network", network, "-p", "18950:80", container.path])
        _ = try Self.succeed(
          sandbox, backend, ["teardown", "--container-id", "dns01", "--network", network, container.path])
        #expect(try Self.succeed(sandbox, backend, ["rm", network]) == "\(network)\n")
      }
      try cycle(UniqueName.make("warm"), subnet: "10.79.1.0/24")
      let baseline = try Self.rules(host)
      try cycle(UniqueName.make("web"), subnet: "10.79.2.0/24")
      let after = try Self.rules(host)
      #expect(after == baseline, "left: \(after.filter { !baseline.contains($0) })")
    }
  }

  /// busybox httpd on port 80 in `container`, serving `text` as its index page.
  static func serve(_ text: String, in container: TestNamespace, sandbox: CNetSandbox) throws -> NamespaceServer {
    let site = sandbox.root.appending("site-\(container.name)")
    try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
    try text.write(toFile: "\(site)/index.html", atomically: true, encoding: .utf8)
    return try NamespaceServer(in: container, ["busybox", "httpd", "-f", "-p", "80", "-h", site])
  }

  @Test("reload after iptables -F makes a published port answer again, with the same address", arguments: backends)
  func reloadRestoresAPublishedPortAfterAFlush(backend: String) async throws {
    let host = try TestNamespace(prefix: "slh")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { sandbox in
      let network = UniqueName.make("rl")
      _ = try Self.succeed(sandbox, backend, ["create", "--disable-dns", "--subnet", "10.79.9.0/24", network])
      let container = try TestNamespace(prefix: "slc")
      defer { container.remove() }
      _ = try Self.succeed(
        sandbox, backend,
        [
          "setup", "--container-id", "reload01", "--container-name", "web", "--network", network, "-p", "18970:80",
          container.path,
        ])
      let server = try Self.serve("reloaded\n", in: container, sandbox: sandbox)
      defer { server.stop() }
      func fetch() -> String {
        (try? host.run(["curl", "-s", "--max-time", "2", "http://10.79.9.1:18970/"], check: false).stdout) ?? ""
      }
      #expect(await waitUntil(seconds: 10) { fetch() == "reloaded\n" })
      // The address itself: the line also holds the interface's index, which a new veth changes.
      func inet() throws -> String? {
        try container.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout.split(separator: " ")
          .drop { $0 != "inet" }.dropFirst().first.map(String.init)
      }
      let address = try inet()
      #expect(address?.hasPrefix("10.79.9.") == true)
      let mac = try container.run(["cat", "/sys/class/net/eth0/address"]).stdout
      for table in ["filter", "nat"] { try host.run(["iptables", "-t", table, "-F"]) }
      // The native backend's rules are its own nftables table, which only a flush of the whole ruleset removes.
      if backend == "native" { try host.run(["nft", "flush", "ruleset"]) }
      #expect(fetch() != "reloaded\n")
      #expect(try Self.succeed(sandbox, backend, ["reload", "web"]) == "reload01\n")
      #expect(await waitUntil(seconds: 10) { fetch() == "reloaded\n" })
      #expect(try inet() == address)
      #expect(try container.run(["cat", "/sys/class/net/eth0/address"]).stdout == mac)
      #expect(try Self.succeed(sandbox, backend, ["reload", "--all"]) == "reload01\n")
      let unknown = try Self.cnet(sandbox, backend, ["reload", "nosuchcontainer"])
      #expect(unknown.status == 125 && unknown.stderr.contains("no container with name or ID nosuchcontainer"))
      _ = try Self.succeed(
        sandbox, backend, ["teardown", "--container-id", "reload01", "--network", network, container.path])
    }
  }

  @Test(
    "connect and disconnect add and remove a second interface; the first keeps working",
    arguments: backends)
  func connectAndDisconnect(backend: String) async throws {
    let host = try TestNamespace(prefix: "sch")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { sandbox in
      let first = UniqueName.make("cn1")
      let second = UniqueName.make("cn2")
      _ = try Self.succeed(sandbox, backend, ["create", "--disable-dns", "--subnet", "10.79.20.0/24", first])
      _ = try Self.succeed(sandbox, backend, ["create", "--disable-dns", "--subnet", "10.79.21.0/24", second])
      let container = try TestNamespace(prefix: "scc")
      defer { container.remove() }
      _ = try Self.succeed(
        sandbox, backend,
        ["setup", "--container-id", "c0nnect01", "--container-name", "app", "--network", first, container.path])
      func pingFirst() throws -> Bool {
        try container.run(["busybox", "ping", "-c", "1", "-W", "2", "10.79.20.1"], check: false).status == 0
      }
      #expect(try pingFirst())
      #expect(try Self.succeed(sandbox, backend, ["connect", "--ip", "10.79.21.9", second, "app"]) == "")
      #expect(try container.run(["ip", "-o", "-4", "addr", "show", "dev", "eth1"]).stdout.contains("10.79.21.9/24"))
      #expect(try pingFirst())
      let report = try #require(
        try parseJSON(try Self.succeed(sandbox, backend, ["inspect", second])) as? [[String: Any]])
      let containers = try #require(report.first?["containers"] as? [String: [String: Any]])
      #expect(containers["c0nnect01"]?["name"] as? String == "app")
      let interfaces = try #require(containers["c0nnect01"]?["interfaces"] as? [String: [String: Any]])
      let subnets = interfaces["eth1"]?["subnets"] as? [[String: String]]
      #expect(subnets?.first?["ipnet"] == "10.79.21.9/24", "\(interfaces)")
      let again = try Self.cnet(sandbox, backend, ["connect", second, "app"])
      #expect(
        again.status == 125 && again.stderr.contains("container c0nnect01 is already connected to network \(second)"))
      let unknown = try Self.cnet(sandbox, backend, ["connect", second, "nosuch"])
      #expect(unknown.status == 125 && unknown.stderr.contains("no container with name or ID nosuch found"))

      #expect(try Self.succeed(sandbox, backend, ["disconnect", second, "c0nnect"]) == "")
      #expect(try container.linkNames().sorted() == ["eth0", "lo"])
      #expect(try pingFirst())
      let notConnected = try Self.cnet(sandbox, backend, ["disconnect", second, "app"])
      #expect(notConnected.status == 125 && notConnected.stderr.contains("is not connected to network \(second)"))
      #expect(try Self.succeed(sandbox, backend, ["disconnect", "-f", second, "app"]) == "")
      _ = try Self.succeed(
        sandbox, backend, ["teardown", "--container-id", "c0nnect01", "--network", first, container.path])
    }
  }

  @Test(
    "a published port keeps answering when the container connects to a second network and leaves the first",
    arguments: backends)
  func aPublishedPortFollowsConnectAndDisconnect(backend: String) async throws {
    let host = try TestNamespace(prefix: "spf")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { sandbox in
      let first = UniqueName.make("pf1")
      let second = UniqueName.make("pf2")
      _ = try Self.succeed(sandbox, backend, ["create", "--disable-dns", "--subnet", "10.79.22.0/24", first])
      _ = try Self.succeed(sandbox, backend, ["create", "--disable-dns", "--subnet", "10.79.23.0/24", second])
      let container = try TestNamespace(prefix: "spc")
      defer { container.remove() }
      _ = try Self.succeed(
        sandbox, backend,
        [
          "setup", "--container-id", "portsfollow01", "--container-name", "web", "--network", first, "-p",
          "18971:80", container.path,
        ])
      let server = try Self.serve("followed\n", in: container, sandbox: sandbox)
      defer { server.stop() }
      // Through the second network's gateway: an address of the host that stays while the first network goes.
      func fetch() -> String {
        (try? host.run(["curl", "-s", "--max-time", "2", "http://10.79.23.1:18971/"], check: false).stdout) ?? ""
      }
      #expect(try Self.succeed(sandbox, backend, ["connect", second, "web"]) == "")
      #expect(await waitUntil(seconds: 10) { fetch() == "followed\n" }, "after connect")
      #expect(try Self.succeed(sandbox, backend, ["disconnect", first, "web"]) == "")
      #expect(try container.linkNames().sorted() == ["eth1", "lo"])
      #expect(await waitUntil(seconds: 10) { fetch() == "followed\n" }, "after disconnect")
      #expect(try Self.succeed(sandbox, backend, ["disconnect", second, "web"]) == "")
      #expect(await waitUntil(seconds: 10) { fetch() != "followed\n" }, "after the last disconnect")
    }
  }

  @Test("cnet run resolves another container by name through the network's DNS", arguments: backends)
  func runResolvesAnotherContainerByName(backend: String) async throws {
    let host = try TestNamespace(prefix: "sdh")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { sandbox in
      let network = UniqueName.make("rdns")
      _ = try Self.succeed(sandbox, backend, ["create", "--subnet", "10.79.30.0/24", network])
      let server = try TestNamespace(prefix: "sds")
      defer { server.remove() }
      let status = try Self.succeed(
        sandbox, backend,
        ["setup", "--container-id", "5e7e7001", "--container-name", "server", "--network", network, server.path])
      #expect(status.contains("dns_server_ips"), "no DNS on this network: \(status)")
      let hostResolvConf = try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
      let resolvConf = try Self.succeed(
        sandbox, backend, ["run", "--name", "client", "--network", network, "--", "cat", "/etc/resolv.conf"])
      #expect(resolvConf.hasPrefix("search dns.podman"), "\(resolvConf)")
      #expect(
        resolvConf.split(separator: "\n").first { $0.hasPrefix("nameserver") } == "nameserver 10.79.30.1",
        "\(resolvConf)")
      let hosts = try Self.succeed(
        sandbox, backend, ["run", "--name", "client", "--network", network, "--", "cat", "/etc/hosts"])
      #expect(hosts.contains("\tclient "), "\(hosts)")
      var answer = ""
      let resolved = await waitUntil(seconds: 20) {
        answer =
          (try? Self.cnet(
            sandbox, backend, ["run", "--network", network, "--", "busybox", "nslookup", "server"]))?.stdout ?? ""
        return answer.contains("10.79.30.")
      }
      #expect(resolved, "\(answer)")
      // The host's own file is untouched.
      #expect(try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) == hostResolvConf)
      _ = try Self.succeed(
        sandbox, backend, ["teardown", "--container-id", "5e7e7001", "--network", network, server.path])
    }
  }

  /// Setups killed with SIGKILL at random moments, each container's namespace then deleted (it died): one `cnet gc`
  /// leaves no veth, no address reservation, no result-cache entry and no rule.
  @Test("gc after 100 setups killed at random moments leaves nothing", arguments: backends)
  func gcAfterKilledSetups(backend: String) async throws {
    let host = try TestNamespace(prefix: "skh")
    defer { host.remove() }
    try await withSandbox(hostNamespace: host.path) { sandbox in
      let network = UniqueName.make("kill")
      _ = try Self.succeed(sandbox, backend, ["create", "--subnet", "10.79.40.0/22", network])
      let warm = try TestNamespace(prefix: "skw")
      defer { warm.remove() }
      _ = try Self.succeed(
        sandbox, backend, ["setup", "--container-id", "warm", "--network", network, "-p", "18990:80", warm.path])
      _ = try Self.succeed(sandbox, backend, ["teardown", "--container-id", "warm", "--network", network, warm.path])
      // The native backend's gc deletes an idle bridge it made, and the bridge's chains with it (netavark deletes
      // the bridge with its last container): the baseline is the idle state gc makes.
      if backend == "native" { _ = try Self.succeed(sandbox, backend, ["gc"]) }
      let baseline = try Self.rules(host)
      var generator = SeededGenerator(seed: 15)
      let extra = Self.backendOptions(sandbox, backend)
      for round in 0..<100 {
        let namespace = try TestNamespace(prefix: "skc")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sandbox.binary)
        process.arguments =
          ["setup"] + extra + sandbox.directoryOptions
          + ["--container-id", "killed\(round)", "--network", network]
          + ["-p", "\(19000 + round):80", namespace.path]
        process.environment = sandbox.environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(UInt32.random(in: 0...120_000, using: &generator))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        namespace.remove()  // The container died with its half-made network.
      }
      // Plugins and netavark run in process groups of their own and may outlive the cnet that started them; the
      // aardvark-dns of the native backend serves until gc has removed the last name.
      _ = await waitUntil(seconds: 20) {
        let running = (try? runCommand(["pgrep", "-af", sandbox.root.path], check: false).stdout) ?? ""
        return running.split(separator: "\n").allSatisfy { $0.contains("aardvark-dns") }
      }
      _ = try Self.succeed(sandbox, backend, ["gc"])
      #expect(try Self.succeed(sandbox, backend, ["gc", "--dry-run"]) == "")
      let after = try Self.rules(host).filter { !($0.hasPrefix(":NETAVARK-DN-") && !baseline.contains($0)) }
      #expect(after == baseline, "left: \(after.filter { !baseline.contains($0) })")
      #expect(try runCommand(["ip", "-n", host.name, "-o", "link", "show", "type", "veth"]).stdout == "")
      if backend == "cni" {
        let results = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.cacheDir + "/results")) ?? []
        #expect(results.filter { !$0.hasPrefix(".") } == [], "cache entries left")
        let reservations =
          (try? FileManager.default.contentsOfDirectory(atPath: "\(sandbox.hostLocalDir)/\(network)")) ?? []
        #expect(reservations.filter { !$0.hasPrefix("last_reserved_ip") && $0 != "lock" } == [], "reservations left")
      } else {
        let rows = try runCommand(
          ["sqlite3", sandbox.root.appending("run/cnet-ipam.sqlite"), "SELECT count(*) FROM allocation"]).stdout
        #expect(rows == "0\n")
      }
      if backend == "native" {
        let states = (try? FileManager.default.subpathsOfDirectory(atPath: sandbox.root.appending("run/cnet-native")))
        #expect((states ?? []).filter { $0.hasSuffix(".json") } == [], "state files left")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.root.appending("run/aardvark-dns")))
        #expect((names ?? []) == [], "aardvark-dns files left")
        let servers = try runCommand(["pgrep", "-f", "aardvark-dns --config \(sandbox.root.path)"], check: false).stdout
        #expect(servers == "", "aardvark-dns still runs")
      }
    }
  }
}
