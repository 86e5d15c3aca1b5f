import CNIBackend
import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

/// Networks move between Podman and us unchanged: each reads what the other wrote. Runs the real podman
/// (Debian's 4.3) on temporary config directories.
@Suite(.enabled(if: TestEnvironment.canRunPrivileged && TestEnvironment.canUse("podman"), "needs root and podman"))
struct PodmanInteropTests {
  /// The fields the issue names; `created` differs by nature (Podman reports the file's time, so does our reader).
  static func comparable(_ network: Network) -> Network {
    var copy = network
    copy.created = nil
    return copy
  }

  @discardableResult
  func podman(_ configDirectory: String, _ arguments: [String]) throws -> CommandResult {
    try runCommand(["podman", "--network-backend", "cni", "--network-config-dir", configDirectory] + arguments)
  }

  @Test func weReadWhatPodmanCreates() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let directory = sandbox.configDirectory
    let prefix = UniqueName.make("pi")
    let creations: [[String]] = [
      ["network", "create", "\(prefix)-auto"],
      [
        "network", "create", "--subnet", "10.231.5.0/24", "--gateway", "10.231.5.254", "--ip-range", "10.231.5.128/25",
        "\(prefix)-subnet",
      ],
      ["network", "create", "--subnet", "fd42:1:2:3::/64", "--subnet", "10.231.6.0/24", "\(prefix)-dual"],
      ["network", "create", "--internal", "\(prefix)-internal"],
      ["network", "create", "--label", "team=net", "-o", "mtu=1400", "-o", "vlan=5", "\(prefix)-opts"],
      ["network", "create", "--disable-dns", "--ipam-driver", "none", "\(prefix)-noipam"],
      ["network", "create", "-d", "macvlan", "-o", "parent=lo", "--subnet", "10.231.7.0/24", "\(prefix)-mv"],
    ]
    for arguments in creations { try podman(directory, arguments) }
    let backend = sandbox.backend()
    for arguments in creations {
      let name = arguments.last!
      let theirs = try JSONDecoder().decode(
        [Network].self, from: Data(try podman(directory, ["network", "inspect", name]).stdout.utf8))
      let ours = try await backend.inspect(name)
      #expect(Self.comparable(ours) == Self.comparable(try #require(theirs.first)), "\(name)")
    }
    #expect(sandbox.logs.warnings.isEmpty, "\(sandbox.logs.messages)")
  }

  @Test func podmanReadsWhatWeCreate() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let directory = sandbox.configDirectory
    let backend = sandbox.backend(pools: nil)
    let prefix = UniqueName.make("pj")
    var created: [Network] = []
    created.append(try await backend.create(Network(name: "\(prefix)-auto", dnsEnabled: true)))
    created.append(
      try await backend.create(
        Network(
          name: "\(prefix)-subnet",
          subnets: [
            Subnet(
              subnet: IPNetwork("10.231.15.0/24")!, gateway: IPAddress("10.231.15.254"),
              leaseRange: try SubnetPlanning.leaseRange(parsing: "10.231.15.128/25"))
          ], dnsEnabled: true)))
    created.append(
      try await backend.create(
        Network(name: "\(prefix)-v6", ipv6Enabled: true, dnsEnabled: true, labels: ["a": "b"], options: ["mtu": "1400"])
      ))
    created.append(try await backend.create(Network(name: "\(prefix)-internal", internal: true)))
    created.append(try await backend.create(Network(name: "\(prefix)-iso", options: ["isolate": "true"])))
    created.append(
      try await backend.create(
        Network(
          name: "\(prefix)-mv", driver: "macvlan", subnets: [Subnet(subnet: IPNetwork("10.231.17.0/24")!)],
          options: ["parent": "lo", "mode": "bridge"])))
    let listed = try podman(directory, ["network", "ls", "--format", "{{.Name}}"]).stdout
    for network in created {
      #expect(listed.contains(network.name))
      let theirs = try JSONDecoder().decode(
        [Network].self, from: Data(try podman(directory, ["network", "inspect", network.name]).stdout.utf8))
      // Reread ours from disk: the creation time of both then comes from the file.
      let ours = try await sandbox.backend().inspect(network.name)
      #expect(Self.comparable(ours) == Self.comparable(try #require(theirs.first)), "\(network.name)")
    }
    // Podman removes what we made, and we see it gone.
    try podman(directory, ["network", "rm", "\(prefix)-auto"])
    await #expect(throws: NetworkError.self) { try await backend.inspect("\(prefix)-auto") }
  }
}
