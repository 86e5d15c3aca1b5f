import Foundation
import TestSupport
import Testing

/// The native backend through `cnet`, on the real kernel, in a private host namespace and the test's own
/// directories: what a setup reports is what the namespace has, containers reach each other and the host, static
/// routes and `no_default_route` hold, both teardown modes leave no link and no state file, gc collects a dead
/// container, and `rm` deletes the bridge.
@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root (network namespaces)"))
struct NativeBackendCLITests {
  struct Fixture {
    let binary: String
    let root: TemporaryDirectory
    let host: TestNamespace
    var environment: [String: String]

    init() throws {
      binary = try BuiltProduct.require("cnet")
      root = try TemporaryDirectory(prefix: "cnet-native")
      host = try TestNamespace(prefix: "nvh")
      environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNET_") }
      environment["CNET_HOST_NETNS"] = host.path
    }

    @discardableResult
    func cnet(_ arguments: String..., check: Bool = true) throws -> CommandResult {
      try runCommand(
        [binary, "--backend", "native", "--config-dir", root.appending("conf"), "--run-dir", root.appending("run")]
          + arguments, environment: environment, check: check)
    }

    func stateFiles() -> [String] {
      let directory = root.appending("run/cnet-native")
      let networks = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
      return networks.flatMap { network in
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(network)")) ?? []).map {
          "\(network)/\($0)"
        }
      }
    }

    func hostVeths() throws -> [String] { try host.linkNames().filter { $0.hasPrefix("cn") } }

    func remove() {
      host.remove()
      root.remove()
    }
  }

  @Test func aContainerGetsWhatItsStatusSaysAndBothTeardownModesLeaveNothing() async throws {
    let fixture = try Fixture()
    let first = try TestNamespace(prefix: "nvc")
    let second = try TestNamespace(prefix: "nvc")
    defer {
      first.remove()
      second.remove()
      fixture.remove()
    }
    try fixture.cnet(
      "create", "--disable-dns", "--subnet", "10.247.1.0/24", "--subnet", "fd47:1::/64", "--route",
      "10.9.0.0/16,10.247.1.254,77", "nv1")
    let ids = [String(repeating: "a", count: 64), String(repeating: "b", count: 64)]
    let status = try fixture.cnet(
      "setup", "--container-id", ids[0], "--network", "nv1:ip=10.247.1.20,mac=02:00:00:47:00:20", first.path
    ).stdout
    try fixture.cnet("setup", "--container-id", ids[1], "--network", "nv1", second.path)
    // The status is what the namespace has: MAC and both addresses (the IPv6 one usable at once).
    #expect(status.contains("\"mac_address\": \"02:00:00:47:00:20\"") && status.contains("10.247.1.20/24"))
    let link = try first.run(["ip", "-o", "addr", "show", "dev", "eth0"]).stdout
    #expect(link.contains("inet 10.247.1.20/24") && link.contains("inet6 fd47:1::"))
    // The kernel's own link-local address does DAD; ours is usable at once.
    #expect(!link.split(separator: "\n").contains { $0.contains("fd47:1::") && $0.contains("tentative") })
    #expect(try first.run(["cat", "/sys/class/net/eth0/address"]).stdout == "02:00:00:47:00:20\n")
    let routes = try first.run(["ip", "-4", "route"]).stdout
    #expect(routes.contains("default via 10.247.1.1 dev eth0") && routes.contains("metric 100"), "\(routes)")
    #expect(routes.contains("10.9.0.0/16 via 10.247.1.254 dev eth0") && routes.contains("metric 77"), "\(routes)")
    #expect(try first.run(["ip", "-6", "route"]).stdout.contains("default via fd47:1::1 dev eth0"))
    // Container to container, and host to container.
    #expect(try second.run(["busybox", "ping", "-c", "1", "-W", "3", "10.247.1.20"], check: false).status == 0)
    #expect(try fixture.host.run(["busybox", "ping", "-c", "1", "-W", "3", "10.247.1.20"], check: false).status == 0)
    #expect(try fixture.hostVeths().count == 2)
    #expect(fixture.stateFiles().count == 2)

    // The explicit delete removes the host veth at once; twice is no error.
    try fixture.cnet("teardown", "--container-id", ids[0], "--network", "nv1", first.path)
    try fixture.cnet("teardown", "--container-id", ids[0], "--network", "nv1", first.path)
    #expect(try first.linkNames() == ["lo"])
    // The other mode only takes it down; deleting the namespace takes the pair.
    try fixture.cnet(
      "teardown", "--netns-will-be-removed", "--container-id", ids[1], "--network", "nv1", second.path)
    #expect(try second.linkNames().contains("eth0"))
    second.remove()
    let gone = await waitUntil { (try? fixture.hostVeths()) == [] }
    #expect(gone, "host veths left: \((try? fixture.hostVeths()) ?? [])")
    #expect(fixture.stateFiles() == [])
    // rm deletes the bridge the network's first container made.
    let bridge = try fixture.cnet("inspect", "--format", "{{.NetworkInterface}}", "nv1").stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try fixture.host.linkNames().contains(bridge))
    try fixture.cnet("rm", "nv1")
    #expect(!(try fixture.host.linkNames().contains(bridge)))
  }

  @Test func internalAndNoDefaultRouteNetworksGetNoDefaultRoute() throws {
    let fixture = try Fixture()
    let container = try TestNamespace(prefix: "nvc")
    defer {
      container.remove()
      fixture.remove()
    }
    try fixture.cnet("create", "--disable-dns", "--internal", "--subnet", "10.247.2.0/24", "nvi")
    try fixture.cnet(
      "create", "--disable-dns", "-o", "no_default_route=1", "--subnet", "10.247.3.0/24", "nvn")
    let id = String(repeating: "c", count: 64)
    try fixture.cnet("setup", "--container-id", id, "--network", "nvi", "--network", "nvn", container.path)
    let routes = try container.run(["ip", "-4", "route"]).stdout
    #expect(!routes.contains("default"), "\(routes)")
    #expect(routes.contains("10.247.2.0/24 dev eth0") && routes.contains("10.247.3.0/24 dev eth1"), "\(routes)")
    let bridge = try fixture.cnet("inspect", "--format", "{{.NetworkInterface}}", "nvi").stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try fixture.host.run(["cat", "/proc/sys/net/ipv4/conf/\(bridge)/forwarding"]).stdout == "0\n")
    try fixture.cnet("teardown", "--container-id", id, "--network", "nvi", "--network", "nvn", container.path)
    #expect(try container.linkNames() == ["lo"])
    #expect(fixture.stateFiles() == [])
  }

  /// Podman 5's firewall options: `isolate=strict` and `outbound_addr4/6` are kept in the network file by the native
  /// backend; bad values are refused naming them.
  @Test func firewallOptionsOfPodman5AreKeptAndChecked() throws {
    let fixture = try Fixture()
    defer { fixture.remove() }
    try fixture.cnet(
      "create", "--disable-dns", "-o", "isolate=strict", "-o", "outbound_addr4=192.0.2.5", "--subnet", "10.247.9.0/24",
      "nvs")
    let options = try fixture.cnet("inspect", "--format", "{{.Options}}", "nvs").stdout
    #expect(options.contains("isolate:strict") && options.contains("outbound_addr4:192.0.2.5"), "\(options)")
    let wrongFamily = try fixture.cnet(
      "create", "--disable-dns", "-o", "outbound_addr4=2001:db8::1", "nvw", check: false)
    #expect(wrongFamily.status != 0)
    #expect(wrongFamily.stderr.contains("invalid outbound_addr4 2001:db8::1: must be an IPv4 address"))
    let badIsolate = try fixture.cnet("create", "--disable-dns", "-o", "isolate=maybe", "nvw", check: false)
    #expect(badIsolate.stderr.contains("strconv.ParseBool: parsing \"maybe\": invalid syntax"))
  }

  /// A container that died without a teardown: gc removes its state and releases its address; a link tagged as
  /// ours that nothing accounts for goes too.
  @Test func gcCollectsADeadContainerAndAnOrphanedLink() async throws {
    let fixture = try Fixture()
    defer { fixture.remove() }
    try fixture.cnet("create", "--disable-dns", "--subnet", "10.247.4.0/24", "nvg")
    let dead = try TestNamespace(prefix: "nvc")
    let id = String(repeating: "d", count: 64)
    try fixture.cnet("setup", "--container-id", id, "--network", "nvg:ip=10.247.4.9", dead.path)
    dead.remove()
    try fixture.host.run(["ip", "link", "add", "cnorphan", "type", "veth", "peer", "name", "nvpeer"])
    try fixture.host.run(["ip", "link", "set", "cnorphan", "alias", "cnet:000000000000:111111111111"])
    let listed = try fixture.cnet("gc", "--dry-run").stdout
    // The network's bridge, idle now, goes too (netavark deletes a bridge with its last container); the next
    // container makes it again.
    let bridge = try fixture.cnet("inspect", "--format", "{{.NetworkInterface}}", "nvg").stdout
      .trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(listed.contains(id) && listed.contains("link cnorphan") && listed.contains("bridge \(bridge)"), "\(listed)")
    try fixture.cnet("gc")
    #expect(try fixture.host.linkNames().filter { $0.hasPrefix("cn") || $0 == "nvpeer" || $0 == bridge } == [])
    #expect(try fixture.cnet("gc", "--dry-run").stdout == "")
    #expect(fixture.stateFiles() == [])
    // The address is free again.
    let again = try TestNamespace(prefix: "nvc")
    defer { again.remove() }
    try fixture.cnet(
      "setup", "--container-id", String(repeating: "e", count: 64), "--network", "nvg:ip=10.247.4.9", again.path)
    try fixture.cnet("teardown", "--container-id", String(repeating: "e", count: 64), "--network", "nvg", again.path)
  }
}
