import BoltDB
import ContainerNetworkCore
import FoundationEssentials
import Logging
import NetworkAddress
import NetworkIPAM
import OrderedJSON

/// Setup and teardown: IPAM allocates and records, the dataplane configures, and any failure releases.
extension NetavarkNetworkBackend {
  public func setup(namespacePath: String, options: NetworkOptions) async throws -> [String: StatusBlock] {
    try namespaces.check(namespacePath, forTeardown: false)
    try NameValidation.validateContainerID(options.containerID)
    var named = options.networks
    SetupValidation.assignDefaultInterfaceNames(&named)
    var resolved: [String: Network] = [:]
    for index in named.indices {
      let network = try lookup(named[index].name)
      named[index].name = network.name
      resolved[network.name] = network
    }
    var request = options
    request.networks = named
    // Podman's IPAM keeps the first static address of each subnet and drops the others without a word, and netavark
    // 1.4 configures one per subnet: several in one subnet are refused unless the dataplane configures them all.
    try SetupValidation.validate(
      request, networks: resolved, onePerSubnet: !dataplane.configuresSeveralAddressesPerSubnet)
    // A dataplane that brings lo up and looks for the interfaces itself saves the thread this takes; what it can
    // start now runs while the lock is taken and the addresses are allocated.
    let present =
      dataplane.preparesNamespaces
      ? [] : try await namespaces.prepare(namespacePath, interfaces: named.map(\.options.interfaceName))
    if let interface = present.first {
      throw NetworkError.interfaceExists(interface, namespacePath: namespacePath)
    }
    let prepared = dataplane.prepareSetup(namespacePath: namespacePath)
    // netavark 1.4 has no lock of its own: concurrent runs race on the shared chains and the bridge. Podman holds
    // its network lock around allocation and the netavark run, for setup and teardown alike; so do we.
    return try await withLock {
      try await releaseStaleHolders(of: named, containerID: options.containerID)
      let ipam = try ipam()
      let encoder = JSONValueEncoder()
      var chosenMACs: [String: MACAddress] = [:]
      var shared = request
      shared.networks = []
      let sharedText = try encoder.encode(shared).jsonString
      // A dataplane that takes its MACs from the request gets them chosen here, so that they are recorded with the
      // addresses in one transaction instead of a second one after the setup.
      let choosesMACs = dataplane.usesRequestedMACAddresses
      if choosesMACs {
        for index in named.indices where named[index].options.staticMAC == nil {
          chosenMACs[named[index].name] = MACAddress.randomLocallyAdministered()
        }
      }
      let granted = try ipam.allocate(
        containerID: options.containerID,
        requests: named.map { AddressRequest(network: resolved[$0.name]!, staticIPs: $0.options.staticIPs) },
        foreignHolders: try podmanHolders(of: named.map(\.name))
      ) { granted in
        var networks: [String: String] = [:]
        for entry in named {
          var perNetwork = entry.options
          perNetwork.staticIPs = granted[entry.name] ?? []
          networks[entry.name] = try encoder.encode(perNetwork).jsonString
        }
        var interfaces: [String: RecordedInterface] = [:]
        if choosesMACs {
          for entry in named {
            let mac = entry.options.staticMAC ?? chosenMACs[entry.name]
            interfaces[entry.name] = RecordedInterface(name: entry.options.interfaceName, mac: mac?.description)
          }
        }
        return ContainerRecord(
          containerID: options.containerID, containerName: options.containerName, namespacePath: namespacePath,
          namespaceIdentity: namespaces.identity(of: namespacePath), shared: sharedText, networks: networks,
          interfaces: interfaces)
      }
      for index in named.indices {
        named[index].options.staticIPs = granted[named[index].name] ?? []
        if let mac = chosenMACs[named[index].name] { named[index].options.staticMAC = mac }
      }
      request.networks = named
      let contract = NetavarkRequest(options: request, networkInfo: resolved)
      do {
        if Task.isCancelled { throw CancellationError() }
        let statuses = try await dataplane.setup(
          namespacePath: namespacePath, request: contract, prepared: prepared)
        // Chosen MACs went into the record with the addresses; only a dataplane's own choices are noted now.
        if choosesMACs { return statuses }
        var interfaces: [String: (name: String, mac: String?)] = [:]
        for entry in named {
          let interface = entry.options.interfaceName
          interfaces[entry.name] = (interface, statuses[entry.name]?.interfaces[interface]?.macAddress?.description)
        }
        // Only a note for later commands: the attachment works without it, so a failure here is logged, not undone.
        do {
          try ipam.recordInterfaces(containerID: options.containerID, interfaces)
        } catch {
          configuration.logger.warning("\(error)")
        }
        return statuses
      } catch {
        // netavark undoes its own partial work; what it may leave after a kill is removed by a teardown.
        var causes: [any Error] = [error]
        do {
          try await dataplane.teardown(namespacePath: namespacePath, request: contract)
        } catch let cleanup {
          causes.append(cleanup)
        }
        try? ipam.release(containerID: options.containerID, networks: named.map(\.name))
        let cancelled = error is CancellationError || (error as? NetavarkError)?.message.hasPrefix("cancelled") == true
        throw NetworkError(
          cancelled ? .cancelled : .pluginFailed,
          cancelled
            ? "setup of container \(options.containerID) was cancelled and rolled back"
            : "setting up container \(options.containerID): \(error)", causes: causes)
      }
    }
  }

  public func teardown(namespacePath: String, options: NetworkOptions) async throws {
    try namespaces.check(namespacePath, forTeardown: true)
    // What the dataplane can start now runs while the lock is taken and the record read; only a namespace about to
    // go lets it start anything.
    let networks = options.namespaceWillBeRemoved ? options.networks.compactMap { try? lookup($0.name) } : []
    let prepared =
      networks.count == options.networks.count && !networks.isEmpty
      ? dataplane.prepareTeardown(
        containerID: options.containerID, networks: networks,
        namespaceWillBeRemoved: options.namespaceWillBeRemoved) : nil
    try await withLock { try await teardownLocked(namespacePath: namespacePath, options: options, prepared: prepared) }
  }

  /// Teardown for a caller that holds the network lock already (``teardown(namespacePath:options:)``, `rm --force`).
  private func teardownLocked(
    namespacePath: String, options: NetworkOptions, prepared: (any NetavarkPreparation)? = nil
  ) async throws {
    let ipam = try ipam()
    let names = options.networks.isEmpty ? nil : try options.networks.map { try lookupName($0.name) }
    guard let record = try ipam.record(containerID: options.containerID, networks: names) else { return }
    var recorded = try contract(from: record)
    recorded.options.namespaceWillBeRemoved = options.namespaceWillBeRemoved
    let contract = recorded
    let request = contract.options
    var failure: (any Error)?
    do {
      // A namespace that is gone, or a new one mounted where the container's was, must not be entered: netavark
      // would delete the newcomer's interfaces. netavark works only inside a namespace and stops at the first
      // container interface it cannot delete, before the container's firewall rules; stand-ins of the interfaces
      // let it reach them.
      let recorded = record.namespacePath == namespacePath ? record.namespaceIdentity : nil
      if namespaces.isStale(namespacePath, recorded: recorded) && dataplane.tearsDownWithoutNamespace {
        // The path may hold a newcomer's namespace: the dataplane is given none, and works on the host side only.
        try await dataplane.teardown(namespacePath: "", request: contract, prepared: prepared)
      } else if namespaces.isStale(namespacePath, recorded: recorded) {
        try await namespaces.withStandIn(
          interfaces: request.networks.map { StandInInterface(name: $0.options.interfaceName) },
          under: configuration.runDirectory
        ) { path in
          try await dataplane.teardown(namespacePath: path, request: contract)
        }
      } else {
        try await dataplane.teardown(namespacePath: namespacePath, request: contract, prepared: prepared)
      }
    } catch {
      failure = error
    }
    // Podman frees the addresses even when netavark fails: keeping them would block the IPs forever.
    try ipam.release(containerID: options.containerID, networks: request.networks.map(\.name))
    if let failure {
      throw NetworkError(
        .pluginFailed, "tearing down container \(options.containerID): \(failure)", causes: [failure])
    }
  }

  /// The addresses Podman's own IPAM (`ipam.db`, beside ours in the run directory) holds on `networks`, so that we
  /// never hand one of them out.
  ///
  /// What Podman cannot see of ours: it reads only its bbolt file, so a Podman container may be given an address
  /// that a cnet setup holds; keep Podman's containers and ours on different networks, or give ours static IPs
  /// outside the range Podman picks from. The file is read just before our own transaction; an allocation Podman
  /// commits in between is the one race left.
  func podmanHolders(of networks: [String]) throws(NetworkError) -> [String: [IPAddress: String]] {
    let path = "\(configuration.runDirectory)/ipam.db"
    let all: [String: [String: String]]
    do {
      all = try PodmanIPAMAllocations.read(path: path)
    } catch {
      throw NetworkError(
        .io,
        "cannot read Podman's IPAM database \(path), so an address Podman holds could be handed out twice: \(error)",
        causes: [error])
    }
    var holders: [String: [IPAddress: String]] = [:]
    for network in networks {
      guard let addresses = all[network] else { continue }
      var byAddress: [IPAddress: String] = [:]
      for (text, container) in addresses {
        if let address = IPAddress(text) { byAddress[address] = container }
      }
      holders[network] = byAddress
    }
    return holders
  }

  /// The netavark request a container's setup made, rebuilt from its IPAM record: the addresses it was given, its
  /// options on each network, its ports, and each network whole.
  func contract(from record: ContainerRecord) throws -> NetavarkRequest {
    let decoder = JSONValueDecoder()
    var request: NetworkOptions
    do {
      request = try decoder.decode(NetworkOptions.self, from: record.shared.utf8)
      request.networks = try record.networks.map {
        NamedPerNetworkOptions($0.key, try decoder.decode(PerNetworkOptions.self, from: $0.value.utf8))
      }
    } catch {
      throw NetworkError(
        .io, "the IPAM record of container \(record.containerID) is unreadable: \(error)", causes: [error])
    }
    request.networks = SetupValidation.sortedByInterface(request.networks)
    var info: [String: Network] = [:]
    for entry in request.networks {
      // A network removed behind our back (its file deleted) is still torn down from what netavark needs.
      info[entry.name] = (try? lookup(entry.name)) ?? Network(name: entry.name, driver: "bridge")
    }
    return NetavarkRequest(options: request, networkInfo: info)
  }

  public func reload(containers: [String]?) async throws -> [String] {
    try await withLock {
      let ipam = try ipam()
      var records: [ContainerRecord] = []
      for id in try ipam.containerIDs() {
        if let record = try ipam.record(containerID: id) { records.append(record) }
      }
      let chosen = try ContainerSelection.choose(
        containers, among: records.map { (id: $0.containerID, name: $0.containerName) })
      var reloaded: [String] = []
      // A container that died is gc's, not reload's.
      let live = records.filter { chosen.contains($0.containerID) && !isStale($0) }
      if dataplane.reloadsInPlace {
        do {
          try await dataplane.reloadFirewall(of: live.map { try contract(from: $0) })
        } catch let error as NetworkError {
          // The dataplane's message names what it was doing already.
          throw NetworkError(.pluginFailed, error.message, causes: [error])
        } catch {
          throw NetworkError(.pluginFailed, "reloading the firewall: \(error)", causes: [error])
        }
        return live.map(\.containerID)
      }
      for record in live {
        var contract = try contract(from: record)
        // The same MAC as before, even where netavark chose it: the container's neighbours keep their caches.
        for index in contract.options.networks.indices where contract.options.networks[index].options.staticMAC == nil {
          let name = contract.options.networks[index].name
          if let mac = try ipam.interface(containerID: record.containerID, network: name)?.mac {
            contract.options.networks[index].options.staticMAC = MACAddress(mac)
          }
        }
        // Rules flushed behind our back make netavark's teardown fail; what is left of the attachment goes anyway.
        do {
          try await dataplane.teardown(namespacePath: record.namespacePath, request: contract)
        } catch {
          configuration.logger.info("reload of \(record.containerID): teardown reported \(error)")
        }
        do {
          _ = try await dataplane.setup(namespacePath: record.namespacePath, request: contract)
        } catch {
          throw NetworkError(
            .pluginFailed, "reloading container \(record.containerID): \(error)", causes: [error])
        }
        reloaded.append(record.containerID)
      }
      return reloaded
    }
  }

  /// The name of a network given by name or ID; a name that no longer resolves is taken as it is.
  private func lookupName(_ nameOrID: String) throws -> String {
    (try? lookup(nameOrID).name) ?? nameOrID
  }

  // MARK: Removal

  public func remove(_ nameOrID: String, force: Bool) async throws {
    try await withLock {
      _ = reloadedNetworks()
      let network = try lookup(nameOrID)
      try await removeLocked(network, force: force)
    }
  }

  private func removeLocked(_ network: Network, force: Bool) async throws {
    guard network.name != configuration.defaultNetworkName else {
      throw NetworkError(.invalidArgument, "default network \(network.name) cannot be removed")
    }
    let users = try users(of: network.name)
    // Containers that died without a teardown do not keep a network in use; their rules go with it.
    if !users.live.isEmpty && !force {
      throw NetworkError(
        .inUse, "network \(network.name) is being used by containers: \(users.live.joined(separator: ", "))")
    }
    for user in users.live + users.stale.map(\.containerID) {
      try await tearDownLocked(user, on: network.name)
    }
    try directory.remove(network.name)
    try ipam().forget(network: network.name)
    try await dataplane.removeNetwork(network)
  }

  public func prune(filters: NetworkFilters) async throws -> [String] {
    try await withLock {
      let now = Timestamp.now()
      let ipam = try ipam()
      var removed: [String] = []
      for network in reloadedNetworks().sorted(by: { $0.name < $1.name })
      where network.name != configuration.defaultNetworkName && filters.matches(network, now: now) {
        let users = try users(of: network.name)
        guard users.live.isEmpty else { continue }
        for user in users.stale { try await tearDownLocked(user.containerID, on: network.name) }
        try directory.remove(network.name)
        try ipam.forget(network: network.name)
        try await dataplane.removeNetwork(network)
        removed.append(network.name)
      }
      return removed
    }
  }

  // MARK: Stale attachments

  /// Whether the container of `record` died without a teardown: its namespace is gone or replaced.
  nonisolated func isStale(_ record: ContainerRecord) -> Bool {
    namespaces.isStale(record.namespacePath, recorded: record.namespaceIdentity)
  }

  /// The containers attached to `network`, split into live ones and stale ones (see ``collectGarbage(dryRun:)``).
  func users(of network: String) throws(NetworkError) -> (live: [String], stale: [StaleAttachment]) {
    let ipam = try ipam()
    var live: [String] = []
    var stale: [StaleAttachment] = []
    for user in try ipam.containers(on: network) {
      guard let record = try ipam.record(containerID: user, networks: [network]) else { continue }
      if isStale(record) {
        stale.append(StaleAttachment(containerID: user, network: network, namespacePath: record.namespacePath))
      } else {
        live.append(user)
      }
    }
    return (live, stale)
  }

  /// Tears `containerID` down from `network` with what its setup recorded; the caller holds the lock.
  private func tearDownLocked(_ containerID: String, on network: String) async throws {
    let namespace = try ipam().record(containerID: containerID)?.namespacePath ?? ""
    try await teardownLocked(
      namespacePath: namespace,
      options: NetworkOptions(containerID: containerID, networks: [NamedPerNetworkOptions(network)]))
  }

  public func collectGarbage(dryRun: Bool) async throws -> [StaleAttachment] {
    try await withLock {
      let ipam = try ipam()
      var found: [StaleAttachment] = []
      for id in try ipam.containerIDs() {
        guard let record = try ipam.record(containerID: id),
          isStale(record)
        else { continue }
        found += record.networks.keys.sorted().map {
          StaleAttachment(containerID: id, network: $0, namespacePath: record.namespacePath)
        }
        guard !dryRun else { continue }
        // One dead container's failure must not keep the others': its addresses are released all the same, and
        // what netavark could not remove is reported.
        do {
          try await teardownLocked(namespacePath: record.namespacePath, options: NetworkOptions(containerID: id))
        } catch {
          configuration.logger.warning("gc: \(error)")
        }
      }
      // After the records: what their teardowns removed is no longer there to be found again.
      for leftover in try await dataplane.collectGarbage(dryRun: dryRun)
      where !found.contains(where: { $0.containerID == leftover.containerID && $0.network == leftover.network }) {
        found.append(leftover)
      }
      return found
    }
  }

  /// Frees the static addresses of `request` that containers which died without a teardown still hold, by tearing
  /// those containers down, and the stale attachments of `containerID` itself (a restarted container gets a new
  /// namespace); the caller holds the lock.
  func releaseStaleHolders(of request: [NamedPerNetworkOptions], containerID: String) async throws {
    let ipam = try ipam()
    if let own = try ipam.record(containerID: containerID),
      isStale(own)
    {
      try await teardownLocked(namespacePath: own.namespacePath, options: NetworkOptions(containerID: containerID))
    }
    for entry in request where !entry.options.staticIPs.isEmpty {
      let held = try ipam.allocations(network: entry.name)
      let holders = Set(entry.options.staticIPs.compactMap { held[$0] })
      for holder in holders.sorted() {
        guard let record = try ipam.record(containerID: holder),
          isStale(record)
        else { continue }
        configuration.logger.info(
          "tearing down container \(holder), which died without a teardown and still holds an address on \(entry.name)")
        try await teardownLocked(namespacePath: record.namespacePath, options: NetworkOptions(containerID: holder))
      }
    }
  }
}

extension NetavarkNetworkBackend {
  public func attachedContainers() async throws -> [AttachedContainer] {
    let ipam = try ipam()
    var containers: [AttachedContainer] = []
    for id in try ipam.containerIDs() {
      guard let record = try ipam.record(containerID: id),
        !isStale(record)
      else { continue }
      let request = try contract(from: record)
      var networks: [String: NamedInterface] = [:]
      for entry in request.options.networks {
        let subnets = request.networkInfo[entry.name]?.subnets ?? []
        let addresses = entry.options.staticIPs.compactMap { ip -> NetAddress? in
          guard let subnet = subnets.first(where: { $0.subnet.contains(ip) }),
            let ipnet = try? IPNetwork(address: ip, prefixLength: subnet.subnet.prefixLength)
          else { return nil }
          return NetAddress(ipnet: ipnet, gateway: subnet.gateway)
        }
        let mac = try ipam.interface(containerID: id, network: entry.name)?.mac.flatMap(MACAddress.init)
        networks[entry.name] = NamedInterface(
          name: entry.options.interfaceName, interface: NetInterface(subnets: addresses, macAddress: mac))
      }
      containers.append(
        AttachedContainer(
          id: id, name: record.containerName, namespacePath: record.namespacePath, networks: networks,
          portMappings: request.options.portMappings))
    }
    return containers
  }
}
