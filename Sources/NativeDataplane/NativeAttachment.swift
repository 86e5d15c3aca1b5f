import ContainerNetworkCore
import NetworkAddress
import NetworkNamespace
import NetworkNetlink

/// One network of a request, resolved into what the kernel gets: the container's interface, MAC, addresses and
/// routes, and the host side's names. Built before any change, so that bad input fails with nothing made.
struct NativeAttachment: Sendable {
  var network: Network
  var containerID: String
  var interfaceName: String
  var mac: MACAddress
  /// The container's addresses with their subnets' prefix lengths and gateways.
  var addresses: [NetAddress]
  var mtu: UInt32?
  /// The metric of the default routes (`-o metric`, netavark's 100 by default).
  var metric: UInt32
  /// Internal networks and `-o no_default_route=true` get none.
  var defaultRoutes: Bool
  /// The host end of the veth (bridge driver).
  var hostInterface: String
  /// The container's published ports, when this is the network they forward to (one per container), and the
  /// forwards they make (checked when the attachment is planned).
  var published: PublishedPorts?
  var forwards: [PortForward] = []

  init(network: Network, options: PerNetworkOptions, containerID: String) throws(NetworkError) {
    self.network = network
    self.containerID = containerID
    interfaceName = options.interfaceName
    guard !interfaceName.isEmpty else {
      throw NetworkError(.invalidArgument, "no interface name for network \(network.name)")
    }
    mac = options.staticMAC ?? NativeNames.randomMAC()
    var addresses: [NetAddress] = []
    for ip in options.staticIPs {
      guard let subnet = network.subnets.first(where: { $0.subnet.contains(ip) }) else {
        throw NetworkError(
          .invalidArgument, "address \(ip) is in no subnet of network \(network.name)")
      }
      // The prefix comes from a valid subnet, so the network is valid too.
      let ipnet = try! IPNetwork(address: ip, prefixLength: subnet.subnet.prefixLength)
      addresses.append(NetAddress(ipnet: ipnet, gateway: subnet.gateway))
    }
    self.addresses = addresses
    mtu = network.options["mtu"].flatMap { UInt32($0) }.flatMap { $0 == 0 ? nil : $0 }
    metric = network.options["metric"].flatMap { UInt32($0) } ?? 100
    defaultRoutes = !network.internal && network.options["no_default_route"] != "true"
    hostInterface = NativeNames.hostInterface(containerID: containerID, networkID: network.id)
  }

  /// What the status block reports: netavark's shape.
  var status: NetInterface {
    NetInterface(subnets: addresses, macAddress: mac)
  }

  /// The container side after its interface exists (index `link`), in one datagram: `lo` up, the addresses, the
  /// interface up with its IPv4 settings, then the default and static routes (which need the addresses and the link
  /// up, and the kernel runs a datagram's requests in order).
  func containerRequests(link: Int32) -> [(message: NetlinkMessage, operation: String)] {
    var batch: [(message: NetlinkMessage, operation: String)] = [
      (.setLink(index: 1, up: true), "set lo up")
    ]
    for address in addresses {
      batch.append((.newAddress(address.ipnet, index: link), "add \(address.ipnet) to \(interfaceName)"))
    }
    // arp_notify announces the new address at once; loose reverse-path filtering as netavark sets it.
    batch.append(
      (
        .setLink(index: link, up: true, ipv4: [.arpNotify: 1, .rpFilter: 2]),
        "set \(interfaceName) up"
      ))
    for gateway in defaultRouteGateways {
      batch.append(
        (
          .newRoute(destination: nil, gateway: gateway, index: link, metric: metric, isIPv6: gateway.isIPv6),
          "add the default route via \(gateway)"
        ))
    }
    for route in network.routes {
      let kind = Self.kind(route.routeType)
      batch.append(
        (
          .newRoute(
            destination: route.destination, gateway: route.gateway, index: link, metric: route.metric ?? metric,
            kind: kind, isIPv6: !route.destination.address.isIPv4),
          "add the route to \(route.destination)"
        ))
    }
    return batch
  }

  /// The network's routes that belong to no link (blackhole, unreachable, prohibit), with the index of the request
  /// in ``containerRequests(link:)`` that adds each: deleting the interface leaves them, so teardown and rollback
  /// delete them.
  var linklessRoutes: [(requestIndex: Int, route: Route)] {
    let first = 2 + addresses.count + defaultRouteGateways.count
    return network.routes.enumerated().compactMap { offset, route in
      route.routeType == .unicast ? nil : (first + offset, route)
    }
  }

  /// Deletions of ``linklessRoutes`` whose adding request is in `indices` (those that succeeded).
  func linklessRouteDeletions(only indices: Set<Int>) -> [(message: NetlinkMessage, operation: String)] {
    Self.deletions(of: linklessRoutes.filter { indices.contains($0.requestIndex) }.map(\.route))
  }

  /// Deletions of the routes among `routes` that belong to no link.
  static func deletions(of routes: [Route]) -> [(message: NetlinkMessage, operation: String)] {
    routes.filter { $0.routeType != .unicast }.map { route in
      (
        .deleteRoute(
          destination: route.destination, kind: kind(route.routeType), isIPv6: !route.destination.address.isIPv4),
        "delete the \(route.routeType.rawValue) route to \(route.destination)"
      )
    }
  }

  /// The gateways that get a default route: the first of each family, unless there are none.
  var defaultRouteGateways: [IPAddress] {
    guard defaultRoutes else { return [] }
    var families: Set<Bool> = []
    return addresses.compactMap { address in
      guard let gateway = address.gateway, families.insert(gateway.isIPv6).inserted else { return nil }
      return gateway
    }
  }

  static func kind(_ type: RouteType) -> NetlinkMessage.RouteKind {
    switch type {
    case .unicast: .unicast
    case .blackhole: .blackhole
    case .unreachable: .unreachable
    case .prohibit: .prohibit
    }
  }

  func state(_ phase: AttachmentState.Phase, containerName: String, namespacePath: String) -> AttachmentState {
    AttachmentState(
      phase: phase, containerID: containerID, containerName: containerName, network: network.name,
      networkID: network.id, driver: network.driver, namespacePath: namespacePath,
      namespaceIdentity: NetworkNamespace.identityText(of: namespacePath), interfaceName: interfaceName,
      hostInterface: network.driver == "bridge" ? hostInterface : nil,
      bridge: network.driver == "bridge" ? network.networkInterface : nil, macAddress: mac.description,
      addresses: addresses.map(\.ipnet.description), publishedPorts: published)
  }
}
