import CNIRuntime
import CNetShim
import ContainerNetworkCore
import Dispatch
import FileSystemSupport
import FoundationEssentials
import NetworkAddress
import NetworkNamespace
import OrderedJSON

#if canImport(Glibc)
  import Glibc
#endif

/// Setup, teardown, and everything that needs to know which containers are attached.
extension CNINetworkBackend {
  nonisolated var runtime: CNIConfig {
    CNIConfig(executor: executor, cacheDirectory: configuration.cacheDirectory)
  }

  // MARK: Setup

  public func setup(namespacePath: String, options: NetworkOptions) async throws -> [String: StatusBlock] {
    runtime.warmUp()
    let plan = try prepare(namespacePath: namespacePath, options: options)
    // A rollback runs DEL, and DEL removes whatever the names designate: it must never meet an attachment this call
    // did not make. So an existing one is refused before any plugin runs, never attached over.
    try refuseExistingAttachments(plan, containerID: options.containerID)
    let present = try await namespaces.prepare(namespacePath, interfaces: plan.map(\.runtime.ifName))
    if let interface = present.first {
      throw NetworkError(
        .alreadyExists,
        "interface \(interface) already exists in network namespace \(namespacePath): choose another interface_name, or tear down the attachment that made it"
      )
    }
    var attached: [Attachment] = []
    var statuses: [String: StatusBlock] = [:]
    for attachment in plan {
      do {
        if Task.isCancelled { throw CNIError(.cancelled, message: "setup was cancelled") }
        let result = try await runtime.addNetworkList(attachment.list, attachment.runtime)
        // From here on the attachment is ours to undo, even if its status cannot be built.
        attached.append(attachment)
        statuses[attachment.network.name] = try Self.statusBlock(
          from: result, namespacePath: namespacePath, ifName: attachment.runtime.ifName)
      } catch {
        // The failing network is undone too: its earlier plugins may have created interfaces, reservations or
        // rules before the failure.
        let undo = attached.last?.network.name == attachment.network.name ? attached : attached + [attachment]
        let rollbackFailures = await rollBack(undo)
        let cancelled = (error as? CNIError)?.kind == .cancelled
        var message =
          cancelled
          ? "setup of container \(options.containerID) was cancelled on network \(attachment.network.name) and rolled back"
          : "setting up network \(attachment.network.name): \(error)"
        for failure in rollbackFailures {
          message += "; rolling back network \(failure.network) failed: \(failure.error)"
        }
        throw NetworkError(
          cancelled ? .cancelled : .pluginFailed, message, causes: [error] + rollbackFailures.map(\.error))
      }
    }
    // Cache files of setups killed mid-write are swept by the next success (only files no live writer holds).
    AtomicFile.removeStaleTemporaryFiles(in: "\(configuration.cacheDirectory)/results")
    return statuses
  }

  /// Undoes `attachments` in reverse order, every one of them even when some fail; returns the failures, which the
  /// setup's error reports (not logged as well).
  private func rollBack(_ attachments: [Attachment]) async -> [(network: String, error: CNIError)] {
    var failures: [(network: String, error: CNIError)] = []
    for done in attachments.reversed() {
      do {
        try await runtime.deleteNetworkList(done.list, done.runtime)
      } catch {
        failures.append((done.network.name, error))
      }
    }
    return failures
  }

  /// Throws when the container is attached to one of the planned networks already, or was being attached by a
  /// setup that never finished (its entry is recorded before the first plugin runs).
  private nonisolated func refuseExistingAttachments(_ plan: [Attachment], containerID: String) throws(NetworkError) {
    for attachment in plan {
      guard
        let existing = runtime.cachedAttachments(network: attachment.network.name, containerID: containerID).first
      else { continue }
      let state = existing.resultJSON == nil ? "a setup of it was interrupted" : "interface \(existing.ifName)"
      throw NetworkError(
        .alreadyExists,
        "container \(containerID) is already attached to network \(attachment.network.name) (\(state)): tear it down first"
      )
    }
  }

  // MARK: Teardown

  public func teardown(namespacePath: String, options: NetworkOptions) async throws {
    runtime.warmUp()
    let plan = try prepare(namespacePath: namespacePath, options: options, forTeardown: true)
    // Read once: each lookup scans the whole results directory.
    let cachedAttachments = runtime.cachedAttachments(containerID: options.containerID)
    var failures: [(network: String, error: CNIError)] = []
    for attachment in plan.reversed() {
      var list = attachment.list
      let cached = cachedAttachments.first {
        $0.networkName == attachment.network.name && $0.ifName == attachment.runtime.ifName
      }
      if let cached, let cachedList = try? NetworkConfigList(data: cached.config) {
        // The cached config is what ADD ran with: the network file may have changed or gone since. The runtime
        // itself takes the cached CNI_ARGS and capability arguments.
        list = cachedList
      } else {
        configuration.logger.warning(
          "no cached result for container \(options.containerID) on network \(attachment.network.name) (\(attachment.runtime.ifName)): tearing down with the config on disk"
        )
      }
      do {
        try await runtime.deleteNetworkList(list, attachment.runtime)
      } catch {
        failures.append((attachment.network.name, error))
      }
    }
    if !failures.isEmpty {
      let each = failures.map { "network \($0.network): \($0.error)" }
      throw NetworkError(
        .pluginFailed, "tearing down container \(options.containerID): " + each.joined(separator: "; "),
        causes: failures.map(\.error))
    }
    AtomicFile.removeStaleTemporaryFiles(in: "\(configuration.cacheDirectory)/results")
  }

  struct Attachment: Sendable {
    var network: Network
    var list: NetworkConfigList
    var runtime: RuntimeConf
  }

  /// Validates `options` and builds, per network, the config list and runtime arguments to run with.
  func prepare(
    namespacePath: String, options: NetworkOptions, forTeardown: Bool = false
  ) throws -> [Attachment] {
    try namespaces.check(namespacePath, forTeardown: forTeardown)
    var options = options
    SetupValidation.assignDefaultInterfaceNames(&options.networks)
    var networks: [String: Network] = [:]
    var stored: [String: StoredNetwork] = [:]
    // In the caller's order, so that among several unknown networks the first one given is named.
    for index in options.networks.indices {
      let found = try lookup(options.networks[index].name)
      // The caller may name a network by ID; key everything by its name from here on.
      options.networks[index].name = found.network.name
      networks[found.network.name] = found.network
      stored[found.network.name] = found
    }
    try SetupValidation.validate(options, networks: networks)
    var plan: [Attachment] = []
    for entry in options.networks {
      let (name, perNetwork) = (entry.name, entry.options)
      let entry = stored[name]!
      // libcni's cache file is <network>-<container ID>-<interface>: a name the file system refuses would fail the
      // setup after its plugins ran, with nothing recorded to undo them.
      let cacheName = "\(name)-\(options.containerID)-\(perNetwork.interfaceName)"
      if cacheName.utf8.count > 255 {
        throw NetworkError(
          .invalidArgument,
          "container ID \(NameValidation.displayed(options.containerID)) is too long for network \(name): the result cache file name would be \(cacheName.utf8.count) bytes, over the 255 the file system allows"
        )
      }
      let list = try configList(for: entry, staticIPCount: perNetwork.staticIPs.count)
      let runtimeConf = runtimeConfiguration(
        namespacePath: namespacePath, options: options, network: name, perNetwork: perNetwork)
      plan.append(Attachment(network: entry.network, list: list, runtime: runtimeConf))
    }
    return plan
  }

  /// The stored config list, adjusted in memory for this run (never written back).
  nonisolated func configList(for stored: StoredNetwork, staticIPCount: Int) throws -> NetworkConfigList {
    guard var root = try directory.configList(of: stored).objectValue, var plugins = root["plugins"]?.arrayValue else {
      throw NetworkError(.invalidArgument, "network \(stored.network.name) has no plugins")
    }
    for index in plugins.indices {
      guard var plugin = plugins[index].objectValue else { continue }
      if index == 0, staticIPCount > 1, plugin["ipam"]?["type"]?.stringValue == "host-local" {
        // Files from older Podman versions lack the capability, without which host-local ignores the IPs.
        var capabilities = plugin["capabilities"]?.objectValue ?? JSONObject()
        if capabilities["ips"] == nil {
          capabilities["ips"] = true
          plugin["capabilities"] = .object(capabilities)
        }
      }
      if let dataDirectory = configuration.hostLocalDataDirectory {
        if var ipam = plugin["ipam"]?.objectValue, ipam["type"]?.stringValue == "host-local" {
          ipam["dataDir"] = .string(dataDirectory)
          plugin["ipam"] = .object(ipam)
        }
        if plugin["type"]?.stringValue == "tuning", plugin["dataDir"] == nil {
          plugin["dataDir"] = .string("\(dataDirectory)/.tuning")
        }
      }
      plugins[index] = .object(plugin)
    }
    root["plugins"] = .array(plugins)
    do {
      return try NetworkConfigList(object: root)
    } catch {
      throw NetworkError(.invalidArgument, "network \(stored.network.name): \(error)", causes: [error])
    }
  }

  /// CNI_ARGS and capability arguments as Podman passes them.
  nonisolated func runtimeConfiguration(
    namespacePath: String, options: NetworkOptions, network: String, perNetwork: PerNetworkOptions
  ) -> RuntimeConf {
    var args: [(key: String, value: String)] = [("IgnoreUnknown", "1")]
    let podName = options.containerName.isEmpty ? options.containerID : options.containerName
    args.append(("K8S_POD_NAME", podName))
    if let mac = perNetwork.staticMAC { args.append(("MAC", mac.description)) }
    if perNetwork.staticIPs.count == 1 { args.append(("IP", perNetwork.staticIPs[0].description)) }
    var capabilities: [String: JSONValue] = [:]
    if perNetwork.staticIPs.count > 1 {
      capabilities["ips"] = .array(perNetwork.staticIPs.map { .string($0.description) })
    }
    if let mac = perNetwork.staticMAC { capabilities["mac"] = .string(mac.description) }
    if !perNetwork.aliases.isEmpty {
      capabilities["aliases"] = .object([network: .array(perNetwork.aliases.map { .string($0) })])
    }
    let ports = Self.portMappingsCapability(options.portMappings)
    if !ports.isEmpty { capabilities["portMappings"] = .array(ports) }
    return RuntimeConf(
      containerID: options.containerID, netns: namespacePath, ifName: perNetwork.interfaceName, args: args,
      capabilityArgs: capabilities, cacheDirectory: configuration.cacheDirectory)
  }

  /// portmap's `portMappings`: one entry per port and protocol, ranges expanded, the host IP kept.
  static func portMappingsCapability(_ mappings: [PortMapping]) -> [JSONValue] {
    var entries: [JSONValue] = []
    for mapping in mappings {
      for proto in mapping.protocols {
        for offset in 0..<mapping.portCount {
          var entry: JSONObject = [
            "hostPort": .integer(Int(mapping.hostPort) + offset),
            "containerPort": .integer(Int(mapping.containerPort) + offset),
            "protocol": .string(proto),
          ]
          if !mapping.hostIP.isEmpty { entry["hostIP"] = .string(mapping.hostIP) }
          entries.append(.object(entry))
        }
      }
    }
    return entries
  }

  /// The status block of one attachment: the interfaces inside the container with their MACs and addresses.
  static func statusBlock(from result: CNIResult, namespacePath: String, ifName: String) throws -> StatusBlock {
    var block = StatusBlock()
    func interfaceName(for ip: CNIResult.IPConfig) -> String? {
      guard let index = ip.interface else { return ifName }
      guard result.interfaces.indices.contains(index) else { return nil }
      let interface = result.interfaces[index]
      // Only interfaces inside the container count; the bridge and the host end of the veth do not.
      guard interface.sandbox != nil && !(interface.sandbox ?? "").isEmpty else { return nil }
      return interface.name
    }
    for interface in result.interfaces where !(interface.sandbox ?? "").isEmpty {
      block.interfaces[interface.name] = NetInterface(subnets: [], macAddress: interface.mac.flatMap(MACAddress.init))
    }
    for ip in result.ips {
      guard let name = interfaceName(for: ip) else { continue }
      guard let address = IPNetwork(ip.address) else {
        throw NetworkError(.pluginFailed, "plugin returned an invalid address \(ip.address)")
      }
      block.interfaces[name, default: NetInterface()].subnets.append(
        NetAddress(ipnet: address, gateway: ip.gateway.flatMap(IPAddress.init)))
    }
    block.dnsServerIPs = result.dns.nameservers.compactMap(IPAddress.init)
    block.dnsSearchDomains = result.dns.search
    return block
  }

  // MARK: Remove and prune

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
