import CNIRuntime
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import Logging
import NetworkAddress
import NetworkNamespace
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The ``ContainerNetwork`` backend that stores networks as Podman's CNI config lists and attaches containers by
/// running CNI plugins.
///
/// Nothing is read at creation. The config directory is read the first time a method needs networks and again only
/// when it changed, so networks created by another process (or by Podman) are seen. Every change takes the same
/// lock file as Podman and re-reads the directory under it, so concurrent processes never pick the same name,
/// subnet or bridge.
public actor CNINetworkBackend {
  public nonisolated let configuration: CNIBackendConfiguration
  nonisolated let directory: ConfigDirectory
  nonisolated let executor: any PluginExecuting
  nonisolated let namespaces: any ContainerNamespaces
  private var snapshot: ConfigDirectory.Snapshot?

  public init(configuration: CNIBackendConfiguration = CNIBackendConfiguration()) {
    self.configuration = configuration
    directory = ConfigDirectory(
      path: configuration.configDirectory, indexPath: configuration.networkIndexPath, logger: configuration.logger)
    executor =
      configuration.pluginExecutor
      ?? PluginExecutor(
        pluginDirectories: configuration.pluginDirectories, timeout: configuration.pluginTimeout,
        pluginNamespacePath: configuration.hostNamespacePath, logger: configuration.logger,
        waiting: configuration.pluginWaiting)
    namespaces =
      configuration.namespaces ?? LinuxContainerNamespaces(hostNamespacePath: configuration.hostNamespacePath)
  }

  public nonisolated var drivers: [String] { CNINetworkCreation.drivers }
  public nonisolated var defaultNetworkName: String { configuration.defaultNetworkName }

  /// The CNI runtime over ``executor`` and the result cache; setup, teardown and removal all run plugins through it.
  nonisolated var runtime: CNIConfig {
    CNIConfig(executor: executor, cacheDirectory: configuration.cacheDirectory)
  }

  // MARK: Loading

  /// The networks on disk plus the default one, read again only when the directory changed.
  func storedNetworks() -> [StoredNetwork] {
    if let snapshot, directory.isCurrent(snapshot) { return withDefault(snapshot) }
    let fresh = directory.scan(reusing: snapshot)
    snapshot = fresh
    return withDefault(fresh)
  }

  /// Forces a re-read: used under the lock, where another process may have changed the directory a moment ago.
  func reloadedNetworks() -> [StoredNetwork] {
    let fresh = directory.scan(reusing: snapshot)
    snapshot = fresh
    return withDefault(fresh)
  }

  private func withDefault(_ snapshot: ConfigDirectory.Snapshot) -> [StoredNetwork] {
    if snapshot.byName[configuration.defaultNetworkName] != nil { return snapshot.networks }
    return snapshot.networks + [defaultNetwork()]
  }

  /// The default network, in memory only: it is never written, and its config list is made only for a setup on it.
  func defaultNetwork() -> StoredNetwork {
    let subnet = configuration.defaultSubnet
    let network = Network(
      name: configuration.defaultNetworkName, id: NetworkID.of(name: configuration.defaultNetworkName),
      driver: "bridge", networkInterface: configuration.defaultNetworkInterface, created: .now(),
      subnets: [Subnet(subnet: subnet, gateway: subnet.firstHost)], ipamOptions: ["driver": "host-local"])
    return StoredNetwork(network: network, path: nil, configList: nil)
  }

  func lookup(_ nameOrID: String) throws(NetworkError) -> StoredNetwork {
    let stored = storedNetworks()
    let network = try NetworkLookup.find(nameOrID, in: stored.map(\.network))
    return stored.first { $0.network.name == network.name }!
  }

  /// Runs `body` holding Podman's lock for the config directory.
  func withLock<T>(_ body: () async throws -> T) async throws -> T {
    try await NetworkStoreLock.withLock(
      path: configuration.lockPath, directory: configuration.configDirectory, timeout: configuration.lockTimeout, body)
  }

  // MARK: Queries

  public func list(filters: NetworkFilters) throws -> [Network] {
    let now = Timestamp.now()
    // Only `dangling` needs the result cache; a plain ls never reads it.
    var used: Set<String> = []
    if filters.needsUsage {
      for attachment in runtime.cachedAttachments(containerID: nil) where !isStale(attachment) {
        used.insert(attachment.networkName)
      }
    }
    // Podman never counts the default network as dangling.
    return storedNetworks().map(\.network).filter {
      filters.matches($0, now: now, inUse: used.contains($0.name) || $0.name == configuration.defaultNetworkName)
    }.sorted { $0.name < $1.name }
  }

  public func inspect(_ nameOrID: String) throws -> Network {
    try lookup(nameOrID).network
  }

  public func update(_ nameOrID: String, options: NetworkUpdateOptions) throws {
    _ = try lookup(nameOrID)
    throw NetworkError(.notSupported, "network update is not supported by the cni backend; use the netavark backend")
  }

  // MARK: Create

  public func create(_ request: Network, options: CreateOptions) async throws -> Network {
    try await withLock {
      let stored = reloadedNetworks()
      if !request.name.isEmpty, let existing = stored.first(where: { $0.network.name == request.name }) {
        if options.returnExisting { return existing.network }
        throw NetworkError.networkExists(request.name)
      }
      let host = try HostInterfaces.read(namespacePath: configuration.hostNamespacePath)
      let logger = configuration.logger
      let creation = CNINetworkCreation(
        existing: stored.map(\.network), host: host,
        dnsPluginAvailable: (try? executor.findPlugin("dnsname")) != nil, pools: configuration.subnetPools,
        warn: { logger.warning("\($0)") })
      let network = try creation.complete(request)
      let bytes = PodmanConflist.fileContents(for: network, dnsPluginAvailable: true)
      // The reader skips larger files: a network written bigger would be invisible to ls, inspect and rm.
      guard Int64(bytes.count) <= ConfigDirectory.maximumFileSize else {
        throw NetworkError(
          .invalidArgument,
          "network \(network.name) would be written as \(bytes.count / 1024) KiB, over the \(ConfigDirectory.maximumFileSize / 1024) KiB a config file may have: use fewer or shorter labels and options"
        )
      }
      let path = "\(configuration.configDirectory)/\(network.name).conflist"
      // A file of that name that the scan skipped (broken, too large, not a regular file) is the user's to fix, not
      // ours to overwrite.
      if access(path, F_OK) == 0 || errno != ENOENT {
        throw NetworkError(
          .alreadyExists,
          "network name \(network.name) is taken by \(path), which is not a readable network: fix or remove that file")
      }
      do {
        try AtomicFile.write(bytes, to: path, mode: 0o644)
      } catch {
        throw NetworkError(.io, "cannot write \(path): \(error)", causes: [error])
      }
      // Leftovers of writers killed mid-write are harmless but untidy; a successful write is a good time to sweep.
      AtomicFile.removeStaleTemporaryFiles(in: configuration.configDirectory)
      return network
    }
  }
}

extension CNINetworkBackend: ContainerNetwork {}
