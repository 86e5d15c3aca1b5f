import ContainerNetworkCore
import Logging
import NetavarkBackend
import NetworkAddress
import NetworkNamespace
import NetworkNetlink
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The in-process dataplane: netavark's contract (``NetavarkRequest`` in, status blocks out) carried out over
/// netlink from this process. Bridge and macvlan networks: links, addresses and routes; container names on bridge
/// networks with DNS through aardvark-dns, the one program it runs (``AardvarkDNS``).
///
/// Every container change is bracketed by its state file (``AttachmentStateStore``): the intent is written before
/// the first kernel change and completed after the last, and a failure undoes what this call made, in reverse.
/// Teardown goes by names derived from the IDs, so it works without the state file, twice, and after the
/// namespace is gone. Bridges stay from their network's first container until the network is removed.
public struct NativeDataplane: NetavarkDataplane {
  public var configuration: NativeDataplaneConfiguration

  public init(configuration: NativeDataplaneConfiguration) {
    self.configuration = configuration
  }

  public var doesPodman5Options: Bool { true }

  public var configuresSeveralAddressesPerSubnet: Bool { true }

  public var tearsDownWithoutNamespace: Bool { true }

  public var preparesNamespaces: Bool { true }

  public var reloadsInPlace: Bool { true }

  public var usesRequestedMACAddresses: Bool { true }

  var store: AttachmentStateStore { AttachmentStateStore(directory: configuration.stateDirectory) }

  var firewall: NativeFirewall {
    NativeFirewall(
      hostNamespacePath: configuration.hostNamespacePath, nftPath: configuration.nftPath,
      dnsPort: configuration.dnsPort)
  }

  public func setup(namespacePath: String, request: NetavarkRequest) async throws -> [String: StatusBlock] {
    try await setup(namespacePath: namespacePath, request: request, prepared: nil)
  }

  /// The container's namespace opened, and its socket started on the namespace thread.
  public func prepareSetup(namespacePath: String) -> (any NetavarkPreparation)? {
    try? NativeSetupPreparation(namespacePath: namespacePath)
  }

  public func setup(namespacePath: String, request: NetavarkRequest, prepared: (any NetavarkPreparation)?)
    async throws -> [String: StatusBlock]
  {
    let attachments = try plan(request, namespacePath: namespacePath)
    let names = try nameEntries(request)
    let preparation =
      try (prepared as? NativeSetupPreparation).flatMap { $0.namespacePath == namespacePath ? $0 : nil }
      ?? NativeSetupPreparation(namespacePath: namespacePath)
    // It holds the namespace open for the peer's IFLA_NET_NS_FD until the setup ends.
    defer { withExtendedLifetime(preparation) {} }
    let host = try hostNetlink()
    let namespaceFD = preparation.opening.namespaceDescriptor
    let container = try netlink { () throws(NetlinkError) in try preparation.opening.routeNetlink() }
    // lo comes up in each network's batch; an interface name that is taken is refused before anything is made.
    for attachment in attachments {
      let interface = attachment.interfaceName
      if try netlink({ () throws(NetlinkError) in try container.link(named: interface) }) != nil {
        throw NetworkError.interfaceExists(interface, namespacePath: namespacePath)
      }
    }
    var undo: [() -> Void] = []
    var statuses: [String: StatusBlock] = [:]
    for attachment in attachments {
      do {
        try await attach(
          attachment, request: request, namespacePath: namespacePath, host: host, container: container,
          namespaceFD: namespaceFD, undo: &undo)
      } catch {
        for step in undo.reversed() { step() }
        throw error
      }
      statuses[attachment.network.name] = status(of: attachment, request: request)
    }
    do {
      try await attachNames(names, containerID: request.options.containerID)
    } catch {
      for step in undo.reversed() { step() }
      throw error
    }
    return statuses
  }

  public func teardown(namespacePath: String, request: NetavarkRequest) async throws {
    try await teardown(namespacePath: namespacePath, request: request, prepared: nil)
  }

  /// When the namespace is about to go, the host ends of a container's completed attachments are taken down on a
  /// kept thread of the pool (a bridge port going down waits out an RCU grace period, ≈ 0.35 ms here) while the
  /// backend takes its lock and reads the record; not for a container with published ports, whose forwards must go
  /// first.
  ///
  /// It goes by the state files before the lock, as the engine runs one container's setup and teardown one after the
  /// other. A teardown that fails before it reaches the dataplane (the lock not taken, no record) leaves the links
  /// down and their states in place, for the engine's retry or gc.
  public func prepareTeardown(containerID: String, networks: [Network], namespaceWillBeRemoved: Bool)
    -> (any NetavarkPreparation)?
  {
    guard namespaceWillBeRemoved && configuration.overlapsOnThreads else { return nil }
    var names: [String: String] = [:]
    for network in networks where network.driver == "bridge" {
      guard let state = store.read(network: network.name, containerID: containerID) else { continue }
      // Published ports must leave the firewall before any link changes (packets would leak to the default route),
      // and they may forward to any of the container's networks: such a container is taken down in order.
      guard state.publishedPorts == nil else { return nil }
      guard state.phase == .done, let name = state.hostInterface else { continue }
      names[network.name] = name
    }
    guard !names.isEmpty else { return nil }
    return LinkTakedown(names: names, dataplane: self)
  }

  public func teardown(namespacePath: String, request: NetavarkRequest, prepared: (any NetavarkPreparation)?)
    async throws
  {
    let takedown = prepared as? LinkTakedown
    let host = try hostNetlink()
    let store = store
    var failures: [NetworkError] = []
    var portsRemain: Set<String> = []
    do {
      try await detachNames(request)
    } catch {
      failures.append(error)
    }
    // The container's side, only while the namespace lives on and is the container's (the backend passes no path
    // for a dead or replaced one); opened once, and only when there is something to do in it.
    let namespaceLivesOn =
      !request.options.namespaceWillBeRemoved && !namespacePath.isEmpty && access(namespacePath, F_OK) == 0
    var containerSocket: RouteNetlink?
    func container() throws(NetworkError) -> RouteNetlink {
      if let containerSocket { return containerSocket }
      let opened = try netlink { () throws(NetlinkError) in try RouteNetlink(namespacePath: namespacePath) }
      containerSocket = opened
      return opened
    }
    // Published ports leave the firewall before any link changes (a DNAT'd packet would otherwise leak to the default
    // route), all of them first: one network's state keeps forwards that may target another network's address. A
    // network whose ports could not be removed keeps its link and state, for a later teardown or gc.
    var states: [String: AttachmentState] = [:]
    for named in request.options.networks where takedown?.handles(network: named.name) != true {
      guard let state = store.read(network: named.name, containerID: request.options.containerID) else { continue }
      states[named.name] = state
      guard let forwards = try? state.publishedPorts?.forwards(), !forwards.isEmpty else { continue }
      if handOverPorts(of: state, request: request, namespacePath: namespacePath) { continue }
      do {
        // A setup that stopped half-way may have failed to add them (another container's port): only ours go.
        try firewall.unpublish(forwards, verify: state.phase != .done)
      } catch {
        failures.append(error)
        states[named.name] = nil
        portsRemain.insert(named.name)
      }
    }
    for named in request.options.networks.reversed() where !portsRemain.contains(named.name) {
      let network = request.networkInfo[named.name]
      if let (_, failure) = takedown?.outcome(network: named.name) {
        // Taken down ahead, by a complete state of a container without ports; that state goes once the link is down.
        if let failure {
          failures.append(failure)
          continue
        }
        store.remove(network: named.name, containerID: request.options.containerID)
        continue
      }
      let state = states[named.name]
      do {
        let deletions = NativeAttachment.deletions(of: network?.routes ?? [])
        if namespaceLivesOn && !deletions.isEmpty {
          let socket = try container()
          try netlink { () throws(NetlinkError) in try socket.requests(deletions, tolerating: [ESRCH, ENOENT]) }
        }
        switch network?.driver ?? state?.driver ?? "bridge" {
        case "macvlan":
          // It lives in the container's namespace only: gone with it, or deleted there while it lives.
          if namespaceLivesOn {
            try removeContainerLink(named.options.interfaceName, namespacePath: namespacePath)
          }
        default:
          guard let networkID = network?.id ?? state?.networkID else { break }
          let name =
            state?.hostInterface
            ?? NativeNames.hostInterface(containerID: request.options.containerID, networkID: networkID)
          let bridges = BridgeDriver(host: host, hostNamespacePath: configuration.hostNamespacePath)
          // A completed setup made and tagged the link of this name (derived from the two IDs): taking it down needs
          // no look at it first.
          if request.options.namespaceWillBeRemoved && state?.phase == .done {
            try bridges.removeVeth(named: name, namespaceWillBeRemoved: true)
            break
          }
          // Only the container's own link: tagged as its, or untagged while a state file names it (a setup that
          // stopped between creating and tagging it). Another's link that happens to have the name stays.
          let link = try netlink { () throws(NetlinkError) in try host.link(named: name) }
          let alias = NativeNames.alias(containerID: request.options.containerID, networkID: networkID)
          guard let link, link.alias == alias || (link.alias == nil && state != nil) else { break }
          try bridges.removeVeth(named: name, namespaceWillBeRemoved: request.options.namespaceWillBeRemoved)
        }
        store.remove(network: named.name, containerID: request.options.containerID)
      } catch {
        failures.append(error)
      }
    }
    if !failures.isEmpty {
      throw NetworkError(
        .io,
        "tearing down container \(request.options.containerID): "
          + failures.map(\.message).joined(separator: "; "), causes: failures)
    }
  }

  public func removeNetwork(_ network: Network) async throws {
    KnownBridges.shared.forget(network)
    if network.driver == "bridge" && !network.networkInterface.isEmpty {
      try BridgeDriver(host: try hostNetlink(), hostNamespacePath: configuration.hostNamespacePath).removeBridge(
        network)
      try await firewall.removeNetwork(bridge: network.networkInterface)
    }
    store.removeNetwork(network.name)
  }

  /// Writes the firewall of these running containers again in one transaction (after `nft flush ruleset`): the
  /// per-host objects, their bridge networks' chains and elements, and their published ports from the state files.
  public func reloadFirewall(of requests: [NetavarkRequest]) async throws {
    var networks: [String: Network] = [:]
    var forwards: [PortForward] = []
    // One element per key, the first state's: a hand-over cut short leaves a container's ports in two states.
    var slots: Set<[UInt8]> = []
    for request in requests {
      for named in request.options.networks {
        if let network = request.networkInfo[named.name], network.driver == "bridge" {
          networks[network.networkInterface] = network
        }
        if let state = store.read(network: named.name, containerID: request.options.containerID) {
          for forward in (try? state.publishedPorts?.forwards()) ?? []
          where slots.insert(forward.slot).inserted {
            forwards.append(forward)
          }
        }
      }
    }
    try await firewall.reload(
      networks: networks.values.sorted { $0.networkInterface < $1.networkInterface }, forwards: forwards)
  }

  // MARK: Setup steps

  /// Every network of the request resolved and checked before anything is changed.
  private func plan(_ request: NetavarkRequest, namespacePath: String) throws(NetworkError) -> [NativeAttachment] {
    var attachments: [NativeAttachment] = []
    for named in request.options.networks {
      guard let network = request.networkInfo[named.name] else {
        throw NetworkError(.invalidArgument, "the request has no network_info for network \(named.name)")
      }
      guard network.driver == "bridge" || network.driver == "macvlan" else {
        throw NetworkError(
          .notSupported, "unsupported driver \(network.driver) of network \(network.name): use bridge or macvlan")
      }
      if network.driver == "bridge" && network.networkInterface.isEmpty {
        throw NetworkError(.invalidArgument, "network \(network.name) has no bridge name (network_interface)")
      }
      attachments.append(
        try NativeAttachment(network: network, options: named.options, containerID: request.options.containerID))
    }
    // Published ports forward to the container's first IPv4 and first IPv6 address on its bridge networks, once
    // (netavark adds them per network, and the first wins), and are kept by the first bridge network's state; a
    // network connected later leaves them where they are. macvlan networks publish nothing, as with netavark.
    if !request.options.portMappings.isEmpty, try !publishesElsewhere(request, namespacePath: namespacePath),
      let carrier = attachments.firstIndex(where: { $0.network.driver == "bridge" })
    {
      let published = PublishedPorts(
        mappings: request.options.portMappings,
        addresses: attachments.filter { $0.network.driver == "bridge" }.flatMap(\.addresses).map(\.ipnet.address))
      attachments[carrier].forwards = try published.forwards()
      attachments[carrier].published = published
    }
    return attachments
  }

  /// One network: intent, interface, container side, state. Each step that changed something leaves its undo.
  private func attach(
    _ attachment: NativeAttachment, request: NetavarkRequest, namespacePath: String, host: RouteNetlink,
    container: RouteNetlink, namespaceFD: Int32, undo: inout [() -> Void]
  ) async throws(NetworkError) {
    let store = store
    let name = request.options.containerName
    try store.write(attachment.state(.intent, containerName: name, namespacePath: namespacePath))
    undo.append { store.remove(network: attachment.network.name, containerID: attachment.containerID) }
    switch attachment.network.driver {
    case "macvlan":
      try MacvlanDriver(host: host).create(attachment, namespaceFD: namespaceFD)
      undo.append {
        _ = try? container.request(.deleteLink(name: attachment.interfaceName), operation: "undo macvlan")
      }
    default:
      let bridges = BridgeDriver(host: host, hostNamespacePath: configuration.hostNamespacePath)
      let firewall = firewall
      // A bridge this process made sure of (with its firewall) is taken as it was; if it has gone since (rm or gc
      // elsewhere), attaching to it fails, the veth is removed, and the bridge is made sure of again.
      let known = KnownBridges.shared.index(of: attachment.network)
      var bridge: Int32
      if let known {
        bridge = known
      } else {
        bridge = try bridges.ensureBridge(attachment.network)
        try await firewall.ensure(attachment.network)
        KnownBridges.shared.remember(attachment.network, index: bridge)
      }
      // Ports before the veth: a host port that another container holds fails the setup before any link is made.
      if !attachment.forwards.isEmpty {
        try firewall.publish(attachment.forwards)
        undo.append { try? firewall.unpublish(attachment.forwards) }
      }
      do {
        try bridges.createVeth(attachment, bridge: bridge, namespaceFD: namespaceFD)
      } catch  where known != nil {
        KnownBridges.shared.forget(attachment.network)
        bridge = try bridges.ensureBridge(attachment.network)
        try await firewall.ensure(attachment.network)
        try bridges.createVeth(attachment, bridge: bridge, namespaceFD: namespaceFD)
        KnownBridges.shared.remember(attachment.network, index: bridge)
      }
      undo.append {
        _ = try? host.request(.deleteLink(name: attachment.hostInterface), operation: "undo veth")
      }
    }
    let link = try netlink { () throws(NetlinkError) in try container.linkIndex(attachment.interfaceName) }
    let outcomes = try netlink { () throws(NetlinkError) in
      try container.results(of: attachment.containerRequests(link: link))
    }
    // Routes of no link outlive the interface: the ones this call added are deleted on undo, never others'.
    let added = Set(attachment.linklessRoutes.map(\.requestIndex).filter { outcomes[$0] == nil })
    if !added.isEmpty {
      undo.append {
        try? container.requests(attachment.linklessRouteDeletions(only: added), tolerating: [ESRCH, ENOENT])
      }
    }
    if let failure = outcomes.lazy.compactMap({ $0 }).first {
      throw NetworkError(
        .io, "configuring \(attachment.interfaceName) for network \(attachment.network.name): \(failure)",
        causes: [failure])
    }
    try store.write(attachment.state(.done, containerName: name, namespacePath: namespacePath))
  }

  // MARK: Sockets

  func hostNetlink() throws(NetworkError) -> RouteNetlink {
    try netlink { () throws(NetlinkError) in
      if let path = configuration.hostNamespacePath { return try RouteNetlink(namespacePath: path) }
      return try RouteNetlink()
    }
  }

  private func removeContainerLink(_ name: String, namespacePath: String) throws(NetworkError) {
    let container: RouteNetlink
    do {
      container = try RouteNetlink(namespacePath: namespacePath)
    } catch {
      if error.errno == ENOENT { return }  // The namespace went in the meantime, and its interfaces with it.
      throw NetworkError(.io, "\(error)", causes: [error])
    }
    try netlink { () throws(NetlinkError) in
      try container.requestIfLinkExists(.deleteLink(name: name), operation: "deleting \(name)")
    }
  }

}

/// A setup's start on the container's side (``NativeDataplane/prepareSetup(namespacePath:)``): the path checked to
/// be a network namespace, the namespace opened, and its rtnetlink socket being made on the namespace thread.
final class NativeSetupPreparation: NetavarkPreparation {
  let namespacePath: String
  let opening: NamespaceSocketOpening

  init(namespacePath: String) throws(NetworkError) {
    guard NetworkNamespace.isNetworkNamespace(namespacePath) else {
      throw NetworkError(.invalidArgument, "\(namespacePath) is not a network namespace")
    }
    self.namespacePath = namespacePath
    do {
      opening = try NamespaceSocketOpening(namespacePath: namespacePath)
    } catch {
      throw NetworkError(
        .notFound, "cannot open network namespace \(namespacePath): \(String(cString: strerror(error.errno)))",
        causes: [error])
    }
  }
}

/// Host ends of a container's veths being taken down on a thread of the pool
/// (``NativeDataplane/prepareTeardown(containerID:networks:namespaceWillBeRemoved:)``); the teardown waits for each
/// before it removes the attachment's state.
final class LinkTakedown: NetavarkPreparation, @unchecked Sendable {
  /// Host interface by network name.
  private let names: [String: String]
  // `failures` and `finished` are guarded by `mutex`; `condition` signals the end.
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var failures: [String: NetworkError] = [:]
  private var finished = false

  init(names: [String: String], dataplane: NativeDataplane) {
    self.names = names
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
    let interfaces = names.values.sorted()
    do {
      try OSThreadPool.shared.run { [self] in
        var failed: [String: NetworkError] = [:]
        do throws(NetworkError) {
          let bridges = BridgeDriver(host: try dataplane.hostNetlink(), hostNamespacePath: nil)
          for name in interfaces {
            do throws(NetworkError) {
              try bridges.removeVeth(named: name, namespaceWillBeRemoved: true)
            } catch {
              failed[name] = error
            }
          }
        } catch {
          for name in interfaces { failed[name] = error }
        }
        finish(failed)
      }
    } catch {
      let failure = NetworkError(.io, "no thread to take links down: \(error)", causes: [error])
      finish(Dictionary(uniqueKeysWithValues: interfaces.map { ($0, failure) }))
    }
  }

  /// Whether this takes `network`'s host end down.
  func handles(network: String) -> Bool { names[network] != nil }

  /// The host end taken down for `network`, once it is down, with its failure if any; nil when this did not
  /// take it on.
  func outcome(network: String) -> (name: String, failure: NetworkError?)? {
    guard let name = names[network] else { return nil }
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    while !finished { pthread_cond_wait(condition, mutex) }
    return (name, failures[name])
  }

  private func finish(_ failed: [String: NetworkError]) {
    pthread_mutex_lock(mutex)
    failures = failed
    finished = true
    pthread_cond_broadcast(condition)
    pthread_mutex_unlock(mutex)
  }

  // The job holds this object until it has finished, so nothing can be waiting here.
  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    condition.deallocate()
    mutex.deallocate()
  }
}
