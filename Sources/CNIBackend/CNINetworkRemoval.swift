import CNIRuntime
import CNetShim
import ContainerNetworkCore
import FoundationEssentials
import NetworkNamespace
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Remove and prune: everything that needs to know which containers are attached to a network.
extension CNINetworkBackend {
  /// Containers attached to `network`, known from the result cache.
  nonisolated func attachments(of network: String) -> [CachedAttachment] {
    runtime.cachedAttachments(containerID: nil).filter { $0.networkName == network }
  }

  public func remove(_ nameOrID: String, force: Bool) async throws {
    try await withLock {
      _ = reloadedNetworks()
      let stored = try lookup(nameOrID)
      try await removeLocked(stored, force: force)
      AtomicFile.removeStaleTemporaryFiles(in: configuration.configDirectory)
    }
  }

  public func prune(filters: NetworkFilters) async throws -> [String] {
    try await withLock {
      let now = Timestamp.now()
      var removed: [String] = []
      for stored in reloadedNetworks()
      where stored.network.name != configuration.defaultNetworkName && stored.path != nil
        && filters.matches(stored.network, now: now) && attachments(of: stored.network.name).isEmpty
      {
        try await removeLocked(stored, force: false)
        removed.append(stored.network.name)
      }
      return removed
    }
  }

  /// Removes the file, the bridge and host-local's reservations of a network; the caller holds the lock.
  private func removeLocked(_ stored: StoredNetwork, force: Bool) async throws {
    let network = stored.network
    if network.name == configuration.defaultNetworkName { throw NetworkError.defaultNetworkRemoval(network.name) }
    let attached = attachments(of: network.name)
    if !attached.isEmpty && !force {
      let containers = Set(attached.map(\.containerID)).sorted().map { String($0.prefix(12)) }
      throw NetworkError(
        .inUse,
        "network \(network.name) is being used by \(containers.count) container(s) (\(containers.joined(separator: ", "))): use force to disconnect them"
      )
    }
    for attachment in attached {
      do {
        let list = try NetworkConfigList(data: attachment.config)
        let conf = RuntimeConf(
          containerID: attachment.containerID, netns: attachment.netns ?? "", ifName: attachment.ifName,
          args: attachment.cniArgs, capabilityArgs: attachment.capabilityArgs,
          cacheDirectory: configuration.cacheDirectory)
        try await runtime.deleteNetworkList(list, conf)
      } catch {
        throw NetworkError(
          .pluginFailed, "disconnecting container \(attachment.containerID) from network \(network.name): \(error)",
          causes: [error])
      }
    }
    // The bridge goes before the file: a remove killed in between leaves a file that names the bridge, so a second
    // remove finishes the job, never a bridge that no file names.
    if network.driver == "bridge" && !network.networkInterface.isEmpty {
      try deleteBridge(network.networkInterface)
    }
    if let path = stored.path, unlink(path) != 0, errno != ENOENT {
      throw NetworkError(.io, "cannot remove \(path): \(String(cString: strerror(errno)))")
    }
    if network.ipamDriver == "host-local" {
      let reservations = "\(configuration.hostLocalDataDirectory ?? "/var/lib/cni/networks")/\(network.name)"
      try? FileManager.default.removeItem(atPath: reservations)
    }
  }

  private func deleteBridge(_ name: String) throws {
    let delete: @Sendable () throws -> Void = {
      if cnet_bridge_delete(name) != 0 && errno != ENXIO && errno != ENODEV {
        throw NetworkError(.io, "cannot delete bridge \(name): \(String(cString: strerror(errno)))")
      }
    }
    if let namespace = configuration.hostNamespacePath {
      try NetworkNamespace.run(in: namespace, delete)
    } else {
      try delete()
    }
  }
}
