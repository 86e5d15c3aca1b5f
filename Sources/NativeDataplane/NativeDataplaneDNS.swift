import ContainerNetworkCore
import Logging
import NetavarkBackend

/// The native dataplane's steps for container names (``AardvarkDNS``): the last step of a setup, the first of a
/// teardown (netavark too stops answering for a container before its interfaces go), `update`, and gc.
extension NativeDataplane {
  /// The DNS side, or nil when no aardvark-dns is configured.
  var dns: AardvarkDNS? {
    guard let binary = configuration.aardvarkPath else { return nil }
    let directory = AardvarkConfigDirectory(path: configuration.effectiveDNSConfigDirectory)
    return AardvarkDNS(
      directory: directory,
      server: AardvarkServer(
        binary: binary, directory: directory, port: configuration.dnsPort,
        hostNamespacePath: configuration.hostNamespacePath, logger: configuration.logger))
  }

  /// The lines a setup will add, checked before anything is made.
  func nameEntries(_ request: NetavarkRequest) throws(NetworkError) -> [(network: Network, entry: AardvarkEntry)] {
    guard dns != nil else {
      for network in request.networkInfo.values where network.dnsEnabled && network.driver == "bridge" {
        configuration.logger.info("network \(network.name) has DNS enabled, but no aardvark-dns is configured")
      }
      return []
    }
    return try AardvarkDNS.entries(for: request)
  }

  /// The status block of one attachment, with the DNS fields netavark 1.4 sets.
  func status(of attachment: NativeAttachment, request: NetavarkRequest) -> StatusBlock {
    let dns = AardvarkDNS.statusDNS(of: attachment.network, request: request)
    return StatusBlock(
      interfaces: [attachment.interfaceName: attachment.status], dnsServerIPs: dns.servers,
      dnsSearchDomains: dns.domains)
  }

  /// Adds the container's names and makes sure the server answers for them; on failure nothing of it is left.
  func attachNames(_ entries: [(network: Network, entry: AardvarkEntry)], containerID: String)
    async throws(NetworkError)
  {
    guard let dns, !entries.isEmpty else { return }
    do {
      try await dns.add(entries)
    } catch {
      try? await dns.remove(containerID: containerID, networks: entries.map(\.network.name))
      throw NetworkError(
        .pluginFailed, "DNS for container \(containerID.prefix(12)): \(error.message)", causes: [error])
    }
  }

  /// Removes the container's names from every network of the request that has a file.
  func detachNames(_ request: NetavarkRequest) async throws(NetworkError) {
    guard let dns else { return }
    try await dns.remove(
      containerID: request.options.containerID.lowercased(), networks: request.options.networks.map(\.name))
  }

  /// Rewrites the network's upstream servers and reloads the server (`cnet update --dns-add/--dns-drop`).
  public func updateDNSServers(network: String, servers: [String]) async throws {
    try await dns?.setNetworkDNSServers(network: network, servers: servers)
  }

  /// Removes the names of the containers gc found stale (`network/container ID` in `stale`).
  func collectNames(stale: Set<String>, dryRun: Bool) async throws(NetworkError) {
    guard let dns, !stale.isEmpty else { return }
    _ = try await dns.removeEntries(dryRun: dryRun) { network, containerID in
      stale.contains("\(network)/\(containerID)")
    }
  }
}
