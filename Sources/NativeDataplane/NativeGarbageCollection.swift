import ContainerNetworkCore
import Logging
import NetworkNamespace
import NetworkNetlink

#if canImport(Glibc)
  import Glibc
#endif

/// Garbage collection of what the native dataplane made for containers that died without a teardown: state files
/// whose namespace is gone (or replaced), and host links tagged as ours (``NativeNames/alias(containerID:networkID:)``)
/// that no state file accounts for (a crash between a teardown's link removal and its state removal cannot leave
/// one; a crash of a setup before its intent was written cannot make one). It reads only its own files and links,
/// so it is safe beside setups in other processes: a setup writes its intent before its link exists.
///
/// Bridges this dataplane created (tagged ``NativeNames/bridgeAlias(networkID:internal:)``) that have no port and no
/// state file naming them go too, as netavark deletes a bridge with its last container: Podman's `network rm` never
/// calls its netavark, so with cnet as Podman's netavark this is how a removed network's bridge goes. The next
/// container of a network that still exists makes its bridge again. Setups hold the network lock that gc holds
/// (`netavark.lock`, Podman's too), so no setup can be choosing a bridge that gc deletes. A stale attachment's
/// published ports and an idle bridge's firewall chains go with them.
extension NativeDataplane {
  public func collectGarbage(dryRun: Bool) async throws -> [StaleAttachment] {
    let host = try hostNetlink()
    let store = store
    // Links before states: a setup writes its intent before its link exists, so any link listed here that is
    // still being set up has its state file by the time the states are read.
    let links = try netlink { () throws(NetlinkError) in try host.links() }
    // One link's failure must not keep the others.
    func delete(_ link: LinkInfo, _ operation: String) {
      do {
        try host.requestIfLinkExists(.deleteLink(index: link.index), operation: operation)
      } catch {
        configuration.logger.warning("gc: \(error)")
      }
    }
    var found: [StaleAttachment] = []
    var accounted: Set<String> = []
    /// Links that this run removes (or, dry, would): they leave their bridge.
    var removed: Set<String> = []
    var bridgesInUse: Set<String> = []
    for state in store.all().sorted(by: { ($0.containerID, $0.network) < ($1.containerID, $1.network) }) {
      let gone = access(state.namespacePath, F_OK) != 0 && errno == ENOENT
      let replaced =
        !gone && state.namespaceIdentity != nil
        && NetworkNamespace.identityText(of: state.namespacePath) != state.namespaceIdentity
      guard gone || replaced else {
        if let name = state.hostInterface { accounted.insert(name) }
        if let bridge = state.bridge { bridgesInUse.insert(bridge) }
        continue
      }
      found.append(
        StaleAttachment(containerID: state.containerID, network: state.network, namespacePath: state.namespacePath))
      // Its host end is this attachment's, not an orphan to list again below.
      if let name = state.hostInterface { removed.insert(name) }
      guard !dryRun else { continue }
      if let forwards = try? state.publishedPorts?.forwards(), !forwards.isEmpty {
        // Only the ones that still forward to this container: its port may belong to another container by now.
        try firewall.unpublish(forwards, verify: true)
      }
      if let name = state.hostInterface {
        try BridgeDriver(host: host, hostNamespacePath: configuration.hostNamespacePath).removeVeth(
          named: name, namespaceWillBeRemoved: false)
      }
      store.remove(network: state.network, containerID: state.containerID)
    }
    try await collectNames(
      stale: Set(found.map { "\($0.network)/\($0.containerID.lowercased())" }), dryRun: dryRun)
    for link in links
    where link.alias?.hasPrefix(NativeNames.aliasPrefix) == true && !accounted.contains(link.name)
      && !removed.contains(link.name)
    {
      removed.insert(link.name)
      // The alias is `cnet:<network ID 12>:<container ID 12>`: what the listing can say of the owner.
      let parts = link.alias!.split(separator: ":").map(String.init)
      found.append(
        StaleAttachment(
          containerID: parts.count == 3 ? parts[2] : "", network: parts.count == 3 ? parts[1] : "",
          namespacePath: "link \(link.name)"))
      guard !dryRun else { continue }
      delete(link, "deleting leftover link \(link.name)")
    }
    for bridge in links where bridge.alias?.hasPrefix(NativeNames.bridgeAliasPrefix) == true {
      guard !links.contains(where: { $0.master == bridge.index && !removed.contains($0.name) }),
        !bridgesInUse.contains(bridge.name)
      else { continue }
      found.append(
        StaleAttachment(
          containerID: "-", network: NativeNames.networkID(inBridgeAlias: bridge.alias!),
          namespacePath: "bridge \(bridge.name)"))
      guard !dryRun else { continue }
      delete(bridge, "deleting idle bridge \(bridge.name)")
      do {
        try await firewall.removeNetwork(bridge: bridge.name)
      } catch {
        configuration.logger.warning("gc: \(error)")
      }
    }
    return found
  }
}
