import BoltDB
import Foundation
import TestSupport
import Testing

/// Where Podman looks for its network helpers (containers/common's default helper_binaries_dir).
private let netavarkInstalled = [
  "/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman",
]
.contains { access("\($0)/netavark", X_OK) == 0 }

/// The real Podman 4.3 writes ipam.db and we read it.
///
/// Rootful Podman keeps the database at the fixed /run/containers/networks/ipam.db, whatever --root, --runroot,
/// --tmpdir or --network-config-dir say (only rootless Podman uses <runroot>/networks), and 4.3 has neither a flag nor
/// a containers.conf key for it. So every podman here runs inside a holder process's private mount and network
/// namespaces: a tmpfs over /run hides the host's run state (ipam.db, /run/netns, runc's state) and our directory is
/// bound onto /run/containers/networks, while the bridge, veth and firewall rules stay in the private network namespace.
@Suite(
  .enabled(
    if: TestEnvironment.canRunPrivileged && TestEnvironment.canUse("podman")
      && (TestEnvironment.isCI || netavarkInstalled),
    "needs root, podman and netavark"))
struct PodmanIntegrationTests {
  @Test func readsTheAddressOfARunningPodmanContainer() throws {
    let directory = try TemporaryDirectory(prefix: "bolt-podman")
    defer { directory.remove() }
    let sandbox = try PodmanSandbox(directory: directory)
    defer { sandbox.stop() }

    let name = UniqueName.make("bolt")
    let octets = (Int.random(in: 200..<250), Int.random(in: 0..<256))
    let prefix = "10.\(octets.0).\(octets.1)"
    let subnet = "\(prefix).0/24"
    sandbox.networks.append(name)
    try sandbox.podman(["network", "create", "--disable-dns", "--subnet", subnet, name])
    func run(_ options: [String]) throws -> String {
      let id = try sandbox.podman(
        ["run", "-d", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", name]
          + options + ["--rootfs", sandbox.rootfs, "/bin/sleep", "60"]
      ).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
      sandbox.containers.append(id)
      try #require(id.count == 64, "podman run printed \(id)")
      return id
    }
    // One address asked for, one handed out by Podman (the first after the gateway, which Podman also keeps as
    // lastIP).
    let staticID = try run(["--ip", "\(prefix).50"])
    let dynamicID = try run([])

    let addresses = ["\(prefix).50": staticID, "\(prefix).2": dynamicID]
    #expect(try PodmanIPAMAllocations.read(path: sandbox.ipamPath) == [name: addresses])
    let network = try #require(try PodmanIPAMAllocations(path: sandbox.ipamPath).networks[name])
    #expect(network.subnets == [subnet: .init(subnet: subnet, addresses: addresses, lastIP: "\(prefix).2")])
    #expect(network.containers == [staticID: ["\(prefix).50"], dynamicID: ["\(prefix).2"]])

    // Podman's release shows up too: the network bucket stays, the address is gone.
    try sandbox.podman(["rm", "-f", "-t", "0", staticID])
    #expect(try PodmanIPAMAllocations.read(path: sandbox.ipamPath) == [name: ["\(prefix).2": dynamicID]])
  }
}
