import ContainerNetworkCore
import Logging
import NetworkAddress
import NetworkIPAM
import NetworkNamespace
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The ``ContainerNetwork`` backend of Podman 5: Podman's JSON networks, our persistent IPAM, and a
/// ``NetavarkDataplane`` (the real netavark by default) that configures the kernel.
///
/// Networks are read when first needed and again only when the config directory changed. Changes take Podman's
/// lock file (`netavark.lock`) and re-read the directory under it, so processes never pick one name, subnet or
/// bridge twice; addresses are handed out in one SQLite transaction per setup.
public actor NetavarkNetworkBackend {
  public nonisolated let configuration: NetavarkBackendConfiguration
  nonisolated let directory: JSONNetworkDirectory
  nonisolated let dataplane: any NetavarkDataplane
  nonisolated let namespaces: any ContainerNamespaces
  private var snapshot: JSONNetworkDirectory.Snapshot?
  /// Networks read from their own files by name, each with where its file stood then.
  private var named: [String: (network: Network, identity: JSONNetworkDirectory.FileIdentity)] = [:]
  private var openedIPAM: IPAMDatabase?

  public init(configuration: NetavarkBackendConfiguration = NetavarkBackendConfiguration()) {
    self.configuration = configuration
    directory = JSONNetworkDirectory(path: configuration.configDirectory, logger: configuration.logger)
    dataplane =
      configuration.dataplane
      ?? NetavarkProgram(
        netavarkPath: configuration.netavarkPath, aardvarkPath: configuration.aardvarkPath,
        runDirectory: configuration.runDirectory, timeout: configuration.timeout,
        hostNamespacePath: configuration.hostNamespacePath)
    namespaces =
      configuration.namespaces ?? LinuxContainerNamespaces(hostNamespacePath: configuration.hostNamespacePath)
  }

  public nonisolated var drivers: [String] { NetavarkNetworkCreation.drivers }
  public nonisolated var defaultNetworkName: String { configuration.defaultNetworkName }

  // MARK: Loading

  /// The networks on disk plus the default one (unless a file overrides it), re-read when the directory changed.
  func networks() -> [Network] {
    if snapshot == nil || !directory.isCurrent(snapshot!) { snapshot = directory.scan() }
    return withDefault(snapshot!.networks)
  }

  /// Re-reads unconditionally: under the lock another process may have written within the same clock tick.
  func reloadedNetworks() -> [Network] {
    snapshot = directory.scan()
    return withDefault(snapshot!.networks)
  }

  private func withDefault(_ networks: [Network]) -> [Network] {
    if networks.contains(where: { $0.name == configuration.defaultNetworkName }) { return networks }
    return networks + [defaultNetwork()]
  }

  /// Podman's in-memory default network: bridge `podman0`, 10.88.0.0/16, Podman's fixed ID, DNS off.
  func defaultNetwork() -> Network {
    let subnet = configuration.defaultSubnet
    return Network(
      name: configuration.defaultNetworkName, id: NetavarkBackendConfiguration.defaultNetworkID, driver: "bridge",
      networkInterface: configuration.defaultNetworkInterface, created: .now(),
      subnets: [Subnet(subnet: subnet, gateway: subnet.firstHost)], ipamOptions: ["driver": "host-local"])
  }

  /// A name is looked for in its own file first (only `<name>.json` can hold a network of that name, and a name
  /// wins over an ID): a setup reads the networks it names, not the whole directory. IDs, ID prefixes, the default
  /// network and invalid files go through the directory.
  func lookup(_ nameOrID: String) throws(NetworkError) -> Network {
    if let snapshot, directory.isCurrent(snapshot) {
      return try NetworkLookup.find(nameOrID, in: withDefault(snapshot.networks))
    }
    if let identity = directory.identity(ofNetworkNamed: nameOrID) {
      if let cached = named[nameOrID], cached.identity == identity { return cached.network }
      if let loaded = directory.loadNetwork(named: nameOrID) {
        named[nameOrID] = loaded
        return loaded.network
      }
    }
    return try NetworkLookup.find(nameOrID, in: networks())
  }

  /// The IPAM store, opened on first use (a plain `ls` never opens it).
  func ipam() throws(NetworkError) -> IPAMDatabase {
    if let openedIPAM { return openedIPAM }
    do {
      try makeDirectories(configuration.runDirectory)
    } catch {
      throw NetworkError(.io, "cannot create \(configuration.runDirectory): \(error)", causes: [error])
    }
    let database = try IPAMDatabase(directory: configuration.runDirectory, busyTimeout: configuration.lockTimeout)
    openedIPAM = database
    return database
  }

  /// Runs `body` holding Podman's lock for the network files.
  func withLock<T>(_ body: () async throws -> T) async throws -> T {
    try await NetworkStoreLock.withLock(
      path: configuration.lockPath, directory: configuration.configDirectory, timeout: configuration.lockTimeout, body)
  }

  // MARK: Queries

  public func list(filters: NetworkFilters) throws -> [Network] {
    let now = Timestamp.now()
    let all = networks()
    // Only `dangling` needs the attachments; ls without it never opens the IPAM database.
    let used = filters.needsUsage ? try Set(all.map(\.name).filter { !(try users(of: $0).live.isEmpty) }) : []
    // Podman never counts the default network as dangling.
    return all.filter {
      filters.matches($0, now: now, inUse: used.contains($0.name) || $0.name == configuration.defaultNetworkName)
    }.sorted { $0.name < $1.name }
  }

  public func inspect(_ nameOrID: String) throws -> Network {
    try lookup(nameOrID)
  }

  // MARK: Changes

  public func create(_ request: Network, options: CreateOptions) async throws -> Network {
    try await withLock {
      let existing = reloadedNetworks()
      if !request.name.isEmpty, let found = existing.first(where: { $0.name == request.name }) {
        if options.returnExisting { return found }
        throw NetworkError.networkExists(request.name)
      }
      let host = try HostInterfaces.read(namespacePath: configuration.hostNamespacePath)
      let creation = NetavarkNetworkCreation(
        existing: existing, host: host, pools: configuration.subnetPools,
        podman5Options: dataplane.doesPodman5Options)
      let network = try creation.complete(request)
      let path = "\(configuration.configDirectory)/\(network.name).json"
      // A file of that name that loading skipped is the user's to fix, not ours to overwrite.
      if access(path, F_OK) == 0 || errno != ENOENT {
        throw NetworkError(
          .alreadyExists,
          "network name \(network.name) is taken by \(path), which is not a readable network: fix or remove that file")
      }
      try directory.write(network)
      AtomicFile.removeStaleTemporaryFiles(in: configuration.configDirectory)
      return network
    }
  }

  /// Adds and removes upstream DNS servers (`network_dns_servers`), then tells the running aardvark-dns.
  public func update(_ nameOrID: String, options: NetworkUpdateOptions) async throws {
    try await withLock {
      _ = reloadedNetworks()
      var network = try lookup(nameOrID)
      guard network.name != configuration.defaultNetworkName || snapshotHas(network.name) else {
        throw NetworkError(.invalidArgument, "default network \(network.name) cannot be modified")
      }
      guard network.dnsEnabled else {
        throw NetworkError(
          .invalidArgument, "network \(network.name) has DNS disabled: there is no DNS server to update")
      }
      let normalized = try options.normalized()
      let add = normalized.addDNSServers
      let drop = normalized.removeDNSServers
      var servers = network.networkDNSServers.filter { !drop.contains($0) }
      for server in add where !servers.contains(server) { servers.append(server) }
      network.networkDNSServers = servers
      try directory.write(network)
      // aardvark-dns runs only while a container uses the network; with none, the file is all there is to change.
      if try !ipam().containers(on: network.name).isEmpty {
        do {
          try await dataplane.updateDNSServers(network: network.name, servers: servers)
        } catch {
          throw NetworkError(
            .pluginFailed, "updating the DNS servers of network \(network.name): \(error)", causes: [error])
        }
      }
    }
  }

  private func snapshotHas(_ name: String) -> Bool {
    snapshot?.networks.contains { $0.name == name } ?? false
  }

  public func networkInfo() -> NetworkInfo {
    func program(_ name: String, _ path: String) -> NetworkInfo.Program {
      NetworkInfo.Program(name: name, path: access(path, X_OK) == 0 ? path : nil, version: nil)
    }
    return NetworkInfo(
      backend: configuration.backendName,
      directories: [
        "config": [configuration.configDirectory], "run": [configuration.runDirectory],
        "host-netns": configuration.hostNamespacePath.map { [$0] } ?? [],
      ].filter { !$0.value.isEmpty },
      defaultNetwork: configuration.defaultNetworkName, defaultSubnet: configuration.defaultSubnet,
      subnetPools: configuration.subnetPools,
      programs: [
        program("netavark", configuration.netavarkPath), program("aardvark-dns", configuration.aardvarkPath),
      ],
      configFiles: configuration.configurationFiles, origins: configuration.settingOrigins)
  }
}

extension NetavarkNetworkBackend: ContainerNetwork {}
