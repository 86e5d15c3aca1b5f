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
