import ArgumentParser
import ContainerNetworkCore
import NetworkAddress

/// `cnet gc`: tears down the attachments of containers that died without a teardown.
struct GarbageCollect: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gc",
    abstract: "Tear down attachments whose network namespace is gone; prints one line per attachment.",
    discussion: """
      A container that died without a teardown leaves its addresses, links and firewall rules behind, and keeps its \
      networks in use. gc finds every such attachment (its namespace is gone, or another one is mounted at its path) \
      and tears it down with what its setup saved. Each line is the container ID, the network and the namespace path. \
      Safe to run at any time, also while other processes set up containers.
      """)

  @OptionGroup var global: GlobalOptions
  @Flag(name: .customLong("dry-run"), help: "Only list what would be torn down.") var dryRun = false

  func run() async throws {
    for stale in try await global.makeBackend().collectGarbage(dryRun: dryRun) {
      print("\(stale.containerID) \(stale.network) \(stale.namespacePath)")
    }
  }
}

/// `cnet reload`: the attachments of running containers set up again, as `podman network reload` does.
struct Reload: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reload",
    abstract: "Set up again the networks of containers, with the same addresses, MAC and ports; prints their IDs.",
    discussion: """
      After a firewall reload or an `iptables -F` flushed their rules, published ports and masquerading work again. \
      Containers are named by ID, unique ID prefix or name, as an earlier setup recorded them.
      """)

  @OptionGroup var global: GlobalOptions
  @Flag(name: [.short, .customLong("all")], help: "Reload every running container.") var all = false
  @Argument(help: "Container IDs or names.") var containers: [String] = []

  func validate() throws {
    if all == !containers.isEmpty { throw ValidationError("give container IDs or names, or --all") }
  }

  func run() async throws {
    for id in try await global.makeBackend().reload(containers: all ? nil : containers) { print(id) }
  }
}

/// `cnet connect`: a container that an earlier setup recorded joins one more network.
struct Connect: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "connect", abstract: "Connect a container, as an earlier setup recorded it, to a network.")

  @OptionGroup var global: GlobalOptions
  @Option(help: "A static IPv4 address; repeat for several subnets.") var ip: [String] = []
  @Option(help: "A static IPv6 address.") var ip6: [String] = []
  @Option(name: .customLong("mac-address"), help: "A static MAC address.") var macAddress: String?
  @Option(help: "A DNS alias on this network; repeat for several.") var alias: [String] = []
  @Argument(help: "The network.") var network: String
  @Argument(help: "The container's ID, ID prefix or recorded name.") var container: String

  func run() async throws {
    var options = PerNetworkOptions(aliases: alias)
    for text in ip + ip6 {
      guard let address = IPAddress(text) else {
        throw NetworkError(.invalidArgument, "invalid IP address \(NameValidation.displayed(text))")
      }
      options.staticIPs.append(address)
    }
    if let macAddress {
      guard let mac = MACAddress(macAddress) else {
        throw NetworkError(.invalidArgument, "invalid MAC address \(NameValidation.displayed(macAddress))")
      }
      options.staticMAC = mac
    }
    try await global.makeBackend().connect(network: network, container: container, options: options)
  }
}

/// `cnet disconnect`: a container leaves a network.
struct Disconnect: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "disconnect", abstract: "Disconnect a container from a network.")

  @OptionGroup var global: GlobalOptions
  @Flag(name: [.short, .customLong("force")], help: "A container that is not connected is no error.") var force = false
  @Argument(help: "The network.") var network: String
  @Argument(help: "The container's ID, ID prefix or recorded name.") var container: String

  func run() async throws {
    try await global.makeBackend().disconnect(network: network, container: container, force: force)
  }
}
