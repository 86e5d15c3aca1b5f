import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

@testable import NetavarkBackend

/// Networks and addresses move between the real Podman 4.3 (`--network-backend netavark`) and this backend: each
/// reads the other's network files, Podman runs containers on ours, and we never hand out an address a Podman
/// container holds. Podman runs in a private mount and network namespace (``PodmanSandbox``), where its fixed
/// /run/containers/networks is a directory of the test.
@Suite(
  .serialized,
  .enabled(if: TestEnvironment.canRunPodmanWithNetavark, "needs root, podman and netavark"))
struct NetavarkPodmanInteropTests {
  /// Our backend over the sandbox's directories, running netavark in the sandbox's network namespace.
  static func backend(_ sandbox: PodmanSandbox) -> NetavarkNetworkBackend {
    NetavarkNetworkBackend(
      configuration: NetavarkBackendConfiguration(
        configDirectory: sandbox.directory.appending("net"), runDirectory: sandbox.directory.appending("netrun"),
        hostNamespacePath: sandbox.networkNamespacePath))
  }

  static func podmanInspect(_ sandbox: PodmanSandbox, _ name: String) throws -> Network {
    let networks = try JSONDecoder().decode(
      [Network].self, from: Data(try sandbox.podman(["network", "inspect", name]).stdout.utf8))
    return try #require(networks.first)
  }

  static func octets() -> (Int, Int) { (Int.random(in: 200..<250), Int.random(in: 0..<256)) }

  @Test func weReadWhatPodmanCreatesAndPodmanReadsWhatWeCreate() async throws {
    let directory = try TemporaryDirectory(prefix: "nv-interop")
    defer { directory.remove() }
    let sandbox = try PodmanSandbox(directory: directory)
    defer { sandbox.stop() }
    let prefix = UniqueName.make("ni")
    let (a, b) = Self.octets()
    let theirs: [[String]] = [
      ["\(prefix)-auto"],
      [
        "--subnet", "10.\(a).\(b).0/24", "--gateway", "10.\(a).\(b).254", "--ip-range", "10.\(a).\(b).128/25",
        "\(prefix)-sub",
      ],
      ["--ipv6", "--internal", "--label", "team=net", "-o", "mtu=1400", "\(prefix)-v6"],
      ["--disable-dns", "-o", "isolate=true", "\(prefix)-iso"],
    ]
    for arguments in theirs {
      sandbox.networks.append(arguments.last!)
      try sandbox.podman(["network", "create"] + arguments)
    }
    let backend = Self.backend(sandbox)
    for arguments in theirs {
      let name = arguments.last!
      #expect(try await backend.inspect(name) == (try Self.podmanInspect(sandbox, name)), "\(name)")
    }
    let listed = try await backend.list().map(\.name)
    #expect(Set(theirs.map { $0.last! }).isSubset(of: Set(listed)))

    let ours = [
      try await backend.create(Network(name: "\(prefix)-ours", dnsEnabled: true)),
      try await backend.create(
        Network(name: "\(prefix)-ours6", ipv6Enabled: true, labels: ["a": "b"], options: ["mtu": "1380"])),
    ]
    sandbox.networks += ours.map(\.name)
    let podmanList = try sandbox.podman(["network", "ls", "--format", "{{.Name}}"]).stdout
    for network in ours {
      #expect(podmanList.contains(network.name))
      #expect(try Self.podmanInspect(sandbox, network.name) == network, "\(network.name)")
    }
    // Podman removes one of ours, and we see it gone.
    try sandbox.podman(["network", "rm", "\(prefix)-ours6"])
    await #expect(throws: NetworkError.self) { try await backend.inspect("\(prefix)-ours6") }
  }

  @Test func podmanRunsAContainerOnOurNetwork() async throws {
    let directory = try TemporaryDirectory(prefix: "nv-interop")
    defer { directory.remove() }
    let sandbox = try PodmanSandbox(directory: directory)
    defer { sandbox.stop() }
    let (a, b) = Self.octets()
    let network = try await Self.backend(sandbox).create(
      Network(name: UniqueName.make("nr"), subnets: [Subnet(subnet: IPNetwork("10.\(a).\(b).0/24")!)]))
    sandbox.networks.append(network.name)
    let output = try sandbox.podman([
      "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", network.name,
      "--rootfs", sandbox.rootfs, "/bin/ip", "-4", "-o", "addr", "show", "eth0",
    ]).stdout
    #expect(output.contains("inet 10.\(a).\(b)."), "\(output)")
  }

  @Test func anAddressAPodmanContainerHoldsIsNeverHandedOut() async throws {
    let directory = try TemporaryDirectory(prefix: "nv-interop")
    defer { directory.remove() }
    let sandbox = try PodmanSandbox(directory: directory)
    defer { sandbox.stop() }
    let (a, b) = Self.octets()
    let name = UniqueName.make("nh")
    // Three addresses: .1 is the gateway, then .2 to .4; Podman's container takes .2 and .3 is statically ours.
    sandbox.networks.append(name)
    try sandbox.podman([
      "network", "create", "--disable-dns", "--subnet", "10.\(a).\(b).0/29", "--ip-range", "10.\(a).\(b).0/30", name,
    ])
    let held = "10.\(a).\(b).2"
    let id = try sandbox.podman([
      "run", "-d", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", name, "--ip",
      held, "--rootfs", sandbox.rootfs, "/bin/sleep", "120",
    ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    sandbox.containers.append(id)
    try #require(id.count == 64, "podman run printed \(id)")

    let backend = Self.backend(sandbox)
    let container = try TestNamespace(prefix: "nhc")
    defer { container.remove() }
    let taken = await #expect(throws: NetworkError.self) {
      try await backend.setup(
        namespacePath: container.path,
        options: NetworkOptions(containerID: "ours", networks: [name: PerNetworkOptions(staticIPs: [IPAddress(held)!])])
      )
    }
    #expect(taken?.message == "requested ip address \(held) is already allocated to container ID \(id)")
    // Automatic allocation passes over Podman's address: the range .1-.3 has only .3 left after the gateway.
    let status = try await backend.setup(
      namespacePath: container.path, options: NetworkOptions(containerID: "ours", networks: [name: PerNetworkOptions()])
    )
    #expect(status[name]?.interfaces["eth0"]?.subnets.map(\.ipnet.address.description) == ["10.\(a).\(b).3"])
    try await backend.teardown(
      namespacePath: container.path, options: NetworkOptions(containerID: "ours", networks: [name: PerNetworkOptions()])
    )
  }
}
