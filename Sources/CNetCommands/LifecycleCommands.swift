import ArgumentParser
import ContainerNetworkCore

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
