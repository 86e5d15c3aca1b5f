import ContainerNetworkCore
import Logging
import NetavarkBackend
import NetworkNamespace
import NetworkNetlink

#if canImport(Glibc)
  import Glibc
#endif

/// The in-process dataplane: netavark's contract (``NetavarkRequest`` in, status blocks out) carried out over
/// netlink from this process, with no program run. Bridge and macvlan networks: links, addresses and routes.
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

  public var tearsDownWithoutNamespace: Bool { true }

  public var preparesNamespaces: Bool { true }

  public var usesRequestedMACAddresses: Bool { true }

  var store: AttachmentStateStore { AttachmentStateStore(directory: configuration.stateDirectory) }

  public func setup(namespacePath: String, request: NetavarkRequest) async throws -> [String: StatusBlock] {
    let attachments = try plan(request)
    guard NetworkNamespace.isNetworkNamespace(namespacePath) else {
      throw NetworkError(.invalidArgument, "\(namespacePath) is not a network namespace")
    }
    let host = try hostNetlink()
    let namespaceFD = open(namespacePath, O_RDONLY | O_CLOEXEC)
    guard namespaceFD >= 0 else {
      throw NetworkError(
        .notFound, "cannot open network namespace \(namespacePath): \(String(cString: strerror(errno)))")
    }
    defer { close(namespaceFD) }
    let container = try netlink { () throws(NetlinkError) in try RouteNetlink(namespacePath: namespacePath) }
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
        try attach(
          attachment, request: request, namespacePath: namespacePath, host: host, container: container,
          namespaceFD: namespaceFD, undo: &undo)
      } catch {
        for step in undo.reversed() { step() }
        throw error
      }
      statuses[attachment.network.name] = StatusBlock(interfaces: [attachment.interfaceName: attachment.status])
    }
    return statuses
  }

  public func teardown(namespacePath: String, request: NetavarkRequest) async throws {
    let host = try hostNetlink()
    let store = store
    var failures: [NetworkError] = []
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
    for named in request.options.networks.reversed() {
      let network = request.networkInfo[named.name]
      let state = store.read(network: named.name, containerID: request.options.containerID)
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
          // Only the container's own link: tagged as its, or untagged while a state file names it (a setup that
          // stopped between creating and tagging it). Another's link that happens to have the name stays.
          let link = try netlink { () throws(NetlinkError) in try host.link(named: name) }
          let alias = NativeNames.alias(containerID: request.options.containerID, networkID: networkID)
          guard let link, link.alias == alias || (link.alias == nil && state != nil) else { break }
          try BridgeDriver(host: host, hostNamespacePath: configuration.hostNamespacePath).removeVeth(
            named: name, namespaceWillBeRemoved: request.options.namespaceWillBeRemoved)
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

  /// Nothing to tell: the native dataplane does not run a DNS server (yet).
  public func updateDNSServers(network: String, servers: [String]) async throws {}

  public func removeNetwork(_ network: Network) async throws {
    KnownBridges.shared.forget(network)
    if network.driver == "bridge" && !network.networkInterface.isEmpty {
      try BridgeDriver(host: try hostNetlink(), hostNamespacePath: configuration.hostNamespacePath).removeBridge(
        network)
    }
    store.removeNetwork(network.name)
  }

  // MARK: Setup steps

  /// Every network of the request resolved and checked before anything is changed.
  private func plan(_ request: NetavarkRequest) throws(NetworkError) -> [NativeAttachment] {
    if !request.options.portMappings.isEmpty {
      throw NetworkError(
        .notSupported,
        "the native backend cannot publish ports yet (it has no firewall): use the netavark backend for containers with ports"
      )
    }
    var attachments: [NativeAttachment] = []
    for named in request.options.networks {
      guard let network = request.networkInfo[named.name] else {
        throw NetworkError(.invalidArgument, "the request has no network_info for network \(named.name)")
      }
      guard network.driver == "bridge" || network.driver == "macvlan" else {
        throw NetworkError(
          .notSupported, "unsupported driver \(network.driver) of network \(network.name): use bridge or macvlan")
      }
      if let isolate = network.options["isolate"], isolate != "false" {
        throw NetworkError(
          .notSupported,
          "network \(network.name) is isolated (isolate=\(isolate)), which the native backend cannot enforce yet (it has no firewall): use the netavark backend"
        )
      }
      if network.driver == "bridge" && network.networkInterface.isEmpty {
        throw NetworkError(.invalidArgument, "network \(network.name) has no bridge name (network_interface)")
      }
      if network.dnsEnabled {
        configuration.logger.warning(
          "network \(network.name) has DNS enabled, but the native backend does not run a DNS server yet: container names do not resolve on it"
        )
      }
      attachments.append(
        try NativeAttachment(network: network, options: named.options, containerID: request.options.containerID))
    }
    return attachments
  }

  /// One network: intent, interface, container side, state. Each step that changed something leaves its undo.
  private func attach(
    _ attachment: NativeAttachment, request: NetavarkRequest, namespacePath: String, host: RouteNetlink,
    container: RouteNetlink, namespaceFD: Int32, undo: inout [() -> Void]
  ) throws(NetworkError) {
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
      // A bridge this process made sure of before is taken as it was; if it has gone since (rm or gc elsewhere),
      // attaching to it fails, the veth is removed, and the bridge is made sure of again.
      if let known = KnownBridges.shared.index(of: attachment.network) {
        do {
          try bridges.createVeth(attachment, bridge: known, namespaceFD: namespaceFD)
        } catch {
          KnownBridges.shared.forget(attachment.network)
          let bridge = try bridges.ensureBridge(attachment.network)
          try bridges.createVeth(attachment, bridge: bridge, namespaceFD: namespaceFD)
          KnownBridges.shared.remember(attachment.network, index: bridge)
        }
      } else {
        let bridge = try bridges.ensureBridge(attachment.network)
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
