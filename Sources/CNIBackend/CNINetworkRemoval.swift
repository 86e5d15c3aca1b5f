import CNIRuntime
import CNetShim
import ContainerNetworkCore
import FoundationEssentials
import Logging
import NetworkAddress
import NetworkNamespace
import OrderedJSON
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

  /// Whether the container of `attachment` died without a teardown: its namespace is gone or another one is mounted
  /// at its path. An entry without a namespace path (Podman 4.3 writes none) cannot be told and counts as live.
  nonisolated func isStale(_ attachment: CachedAttachment) -> Bool {
    guard let netns = attachment.netns, !netns.isEmpty else { return false }
    return namespaces.isStale(netns, recorded: attachment.netnsIdentity)
  }

  /// Runs DEL for a cached attachment with the config, arguments and result its ADD left.
  ///
  /// A stale one runs in a stand-in namespace: its own is gone, or is another container's now. The bridge plugin
  /// finds the masquerade rules to remove from the addresses of the interface it deletes, and with an empty
  /// CNI_NETNS it skips them (a known leak of CNI runtimes), so the stand-in holds the interface with the cached
  /// result's addresses.
  nonisolated func deleteCached(_ attachment: CachedAttachment) async throws {
    do {
      let list = try NetworkConfigList(data: attachment.config)
      let conf = RuntimeConf(cached: attachment, cacheDirectory: configuration.cacheDirectory)
      guard isStale(attachment) else { return try await runtime.deleteNetworkList(list, conf) }
      let result = try? attachment.result()
      var addresses = (result?.ips(ofInterface: attachment.ifName) ?? []).compactMap { IPNetwork($0.address) }
      // A setup killed while its first plugin ran has no result: its addresses are still in host-local's
      // reservations, and the plugins' DELs need them (the bridge plugin for its masquerade rules, the firewall
      // plugin for its per-address rules).
      var fallback: CNIResult?
      if result == nil {
        addresses = reservedAddresses(of: attachment)
        fallback = Self.result(ifName: attachment.ifName, addresses: addresses, version: attachment.configVersion)
      }
      let standIn = StandInInterface(name: attachment.ifName, addresses: addresses)
      let (runtime, base, previous) = (runtime, conf, fallback)
      try await namespaces.withStandIn(interfaces: [standIn], under: configuration.cacheDirectory) { path in
        var inStandIn = base
        inStandIn.netns = path
        try await runtime.deleteNetworkList(list, inStandIn, fallbackResult: previous)
      }
    } catch {
      throw NetworkError(
        .pluginFailed,
        "disconnecting container \(attachment.containerID) from network \(attachment.networkName): \(error)",
        causes: [error])
    }
  }

  /// The addresses host-local holds for `attachment` (`<data dir>/<network>/<ip>` naming its container and
  /// interface), with the prefix length of the network's subnet that holds each.
  nonisolated func reservedAddresses(of attachment: CachedAttachment) -> [IPNetwork] {
    let directory = "\(configuration.hostLocalDataDirectory ?? "/var/lib/cni/networks")/\(attachment.networkName)"
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
    let subnets = (try? JSONValue.parse(attachment.config)).map(Self.subnets(inConfig:)) ?? []
    var addresses: [IPNetwork] = []
    for name in names.sorted() {
      guard let ip = IPAddress(name),
        let contents = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
      else { continue }
      let lines = contents.split(whereSeparator: \.isNewline).map(String.init)
      guard lines.first == attachment.containerID, lines.count < 2 || lines[1] == attachment.ifName else { continue }
      let prefix = subnets.first { $0.contains(ip) }?.prefixLength ?? (ip.isIPv4 ? 32 : 128)
      if let network = try? IPNetwork(address: ip, prefixLength: prefix) { addresses.append(network) }
    }
    return addresses
  }

  /// Every `subnet` in the ranges of the config list's IPAM sections.
  static func subnets(inConfig config: JSONValue) -> [IPNetwork] {
    var found: [IPNetwork] = []
    for plugin in config["plugins"]?.arrayValue ?? [] {
      for range in (plugin["ipam"]?["ranges"]?.arrayValue ?? []).flatMap({ $0.arrayValue ?? [] }) {
        if let text = range["subnet"]?.stringValue, let subnet = IPNetwork(text) { found.append(subnet.masked) }
      }
    }
    return found
  }

  /// A minimal result naming the container's interface and `addresses`, for a DEL that has no cached one.
  static func result(ifName: String, addresses: [IPNetwork], version: String) -> CNIResult? {
    guard !addresses.isEmpty else { return nil }
    let ips: [JSONValue] = addresses.map {
      .object(["address": .string($0.description), "interface": .integer(0)])
    }
    let json: JSONValue = .object([
      "cniVersion": .string(version), "interfaces": .array([.object(["name": .string(ifName)])]),
      "ips": .array(ips),
    ])
    return try? CNIResult(json: json, defaultVersion: version)
  }

  public func collectGarbage(dryRun: Bool) async throws -> [StaleAttachment] {
    try await withLock {
      var found: [StaleAttachment] = []
      let cached = runtime.cachedAttachments(containerID: nil)
      for attachment in cached where isStale(attachment) {
        found.append(
          StaleAttachment(
            containerID: attachment.containerID, network: attachment.networkName,
            namespacePath: attachment.netns ?? ""))
        guard !dryRun else { continue }
        // One dead container's failure must not keep the others' (each DEL removes its cache entry either way).
        do {
          try await deleteCached(attachment)
        } catch {
          configuration.logger.warning("gc: \(error)")
        }
      }
      found += orphanedReservations(cached: cached, remove: !dryRun)
      if !dryRun { await sendGC(live: cached.filter { !isStale($0) }) }
      return found.sorted { ($0.containerID, $0.network) < ($1.containerID, $1.network) }
    }
  }

  /// host-local reservations whose container has no result-cache entry at all on that network: what a setup killed
  /// before its cache entry existed, or a cache deleted by hand, leaves. Only reservations older than twice the
  /// plugin timeout count, so that a setup still running in another process (Podman's libcni writes its entry only
  /// after the chain) never loses its address. Listed as attachments with the reservation in place of a namespace.
  private nonisolated func orphanedReservations(cached: [CachedAttachment], remove: Bool) -> [StaleAttachment] {
    let root = configuration.hostLocalDataDirectory ?? "/var/lib/cni/networks"
    let owners = Set(cached.map { "\($0.networkName)/\($0.containerID)" })
    let limit = Double(configuration.pluginTimeout.components.seconds) * 2
    var found: [StaleAttachment] = []
    for network in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
      let directory = "\(root)/\(network)"
      for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where IPAddress(name) != nil {
        let path = "\(directory)/\(name)"
        var info = stat()
        guard stat(path, &info) == 0, Double(time(nil) - info.st_mtim.tv_sec) > limit,
          let contents = try? String(contentsOfFile: path, encoding: .utf8),
          let holder = contents.split(whereSeparator: \.isNewline).first.map(String.init),
          !owners.contains("\(network)/\(holder)")
        else { continue }
        found.append(StaleAttachment(containerID: holder, network: network, namespacePath: "reservation \(name)"))
        if remove { unlink(path) }
      }
    }
    return found
  }

  /// The CNI 1.1 GC verb, for every network whose config list speaks 1.1.0 (Debian 12's plugins speak up to 1.0.0,
  /// so it runs only with newer ones), naming the live attachments as valid.
  private func sendGC(live: [CachedAttachment]) async {
    for stored in storedNetworks() where stored.path != nil {
      guard let list = try? configList(for: stored, staticIPCount: 0),
        CNIVersion.isAtLeast(list.cniVersion, "1.1.0")
      else { continue }
      let valid = live.filter { $0.networkName == stored.network.name }.map {
        GCAttachment(containerID: $0.containerID, ifName: $0.ifName)
      }
      do {
        try await runtime.gcNetworkList(list, validAttachments: valid)
      } catch {
        configuration.logger.warning("gc: network \(stored.network.name): \(error)")
      }
    }
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
        && filters.matches(stored.network, now: now) && attachments(of: stored.network.name).allSatisfy(isStale)
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
    // Containers that died without a teardown do not keep a network in use; their DELs still run below.
    let live = attached.filter { !isStale($0) }
    if !live.isEmpty && !force {
      let containers = Set(live.map(\.containerID)).sorted().map { String($0.prefix(12)) }
      throw NetworkError(
        .inUse,
        "network \(network.name) is being used by \(containers.count) container(s) (\(containers.joined(separator: ", "))): use force to disconnect them"
      )
    }
    for attachment in attached { try await deleteCached(attachment) }
    // The bridge goes before the file: a remove killed in between leaves a file that names the bridge, so a second
    // remove finishes the job, never a bridge that no file names.
    if network.driver == "bridge" && !network.networkInterface.isEmpty {
      try deleteBridge(network.networkInterface)
      if network.dnsEnabled {
        try await DNSPluginCleanup.removeRules(
          bridge: network.networkInterface, hostNamespacePath: configuration.hostNamespacePath,
          timeout: configuration.pluginTimeout)
      }
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
