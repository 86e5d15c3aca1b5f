import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

/// `cnet --backend netavark` next to the real Podman 4.3 on the same network directory, both run in the same private
/// mount and network namespaces (``PodmanSandbox``): what each prints for the same question is the same, byte for
/// byte, and an unnamed network gets the name Podman would give it.
@Suite(
  .serialized,
  .enabled(if: TestEnvironment.canRunPodmanWithNetavark, "needs root, podman and netavark"))
struct NetavarkCLIPodmanOutputTests {
  /// `cnet --backend netavark` on the sandbox's directories, inside its namespaces, with an empty containers.conf.
  static func cnet(_ sandbox: PodmanSandbox, _ arguments: [String]) throws -> CommandResult {
    let conf = sandbox.directory.appending("containers.conf")
    if !FileManager.default.fileExists(atPath: conf) { _ = FileManager.default.createFile(atPath: conf, contents: nil) }
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNET_") }
    environment["CONTAINERS_CONF"] = conf
    return try runCommand(
      [
        "/usr/bin/nsenter", "-t", "\(sandbox.holderPID)", "-m", "-n", try CNetBinary.require(), "--backend", "netavark",
        "--config-dir", sandbox.directory.appending("net"), "--run-dir", "/run/containers/networks",
      ] + arguments,
      environment: environment, check: false)
  }

  @Test func listInspectAndNamesAreLikePodmans() async throws {
    let directory = try TemporaryDirectory(prefix: "nv-cli")
    defer { directory.remove() }
    let sandbox = try PodmanSandbox(directory: directory)
    defer { sandbox.stop() }
    let prefix = UniqueName.make("nc")

    // Unnamed networks alternate between the two: each takes the first podmanN free among names, bridges and links.
    let first = try sandbox.podman(["network", "create"]).stdout
    let second = try Self.cnet(sandbox, ["network", "create"])
    let third = try sandbox.podman(["network", "create"]).stdout
    sandbox.networks += ["podman1", "podman2", "podman3"]
    #expect(first == "podman1\n")
    #expect(second.status == 0 && second.stdout == "podman2\n", "\(second.stderr)")
    #expect(third == "podman3\n")
    let inspected = try Self.cnet(sandbox, ["inspect", "--format", "{{.NetworkInterface}}", "podman2"])
    #expect(inspected.stdout == "podman2\n")

    // Networks made by each with the same options, then every listing and inspection asked of both.
    let variants: [[String]] = [
      ["--internal", "--disable-dns"],
      ["--internal"],
      ["-o", "mtu=0", "-o", "isolate=0", "--label", "k=v"],
      ["--ipv6"],
      ["--ipam-driver", "none"],
    ]
    var names: [String] = []
    for (index, options) in variants.enumerated() {
      let theirs = "\(prefix)-p\(index)"
      let ours = "\(prefix)-c\(index)"
      try sandbox.podman(["network", "create"] + options + [theirs])
      let made = try Self.cnet(sandbox, ["network", "create"] + options + [ours])
      #expect(made.status == 0 && made.stdout == "\(ours)\n", "\(options): \(made.stderr)")
      sandbox.networks += [theirs, ours]
      names += [theirs, ours]
      // The same network but for what is drawn at random or by order: name, ID, time, bridge and subnets.
      func comparable(_ name: String) throws -> (Network, [String]) {
        var network = try #require(
          try JSONDecoder().decode(
            [Network].self, from: Data(try sandbox.podman(["network", "inspect", name]).stdout.utf8)
          ).first)
        network.name = ""
        network.id = ""
        network.created = nil
        network.networkInterface = ""
        // Of the subnets, their family and whether they have a gateway.
        let subnets = network.subnets.map {
          "\($0.subnet.description.contains(":") ? "v6" : "v4") gateway=\($0.gateway != nil)"
        }
        network.subnets = []
        return (network, subnets)
      }
      let (ourNetwork, ourSubnets) = try comparable(ours)
      let (theirNetwork, theirSubnets) = try comparable(theirs)
      #expect(ourNetwork == theirNetwork, "\(options)")
      #expect(ourSubnets == theirSubnets, "\(options)")
    }

    // (Podman dates its in-memory default network at each load, so its JSON is left out; and it prints labels in Go's
    // random map order, so one label is used.)
    let questions: [[String]] = [
      ["ls"], ["ls", "--no-trunc"], ["ls", "-q"], ["ls", "--noheading"],
      ["ls", "--format", "json", "--filter", "name=\(prefix)"],
      ["ls", "--format", "{{.ID}} {{.Labels}} {{.Name}} {{.Driver}}"], ["ls", "--filter", "dangling=true"],
      ["ls", "--filter", "dangling=false"], ["ls", "--filter", "label=k=v"], ["ls", "--filter", "driver=bridge", "-q"],
      ["inspect"] + names,
      ["inspect", "--format", "{{.Name}} {{.Internal}} {{.Labels}}"] + names,
    ]
    for question in questions {
      let theirs = try sandbox.podman(["network"] + question, check: false)
      let ours = try Self.cnet(sandbox, ["network"] + question)
      #expect(ours.stdout == theirs.stdout, "\(question): \(theirs.stderr)")
      #expect(ours.status == theirs.status, "\(question): \(ours.stderr)")
    }
  }
}
