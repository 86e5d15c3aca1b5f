import ContainerNetworkCore
import NetworkAddress
import NetworkNamespace
import NetworkNetlink

#if canImport(Glibc)
  import Glibc
#endif

/// The bridge driver: a bridge per network, made on the network's first use and kept until `network rm`; per
/// container one veth whose peer is born inside the container's namespace.
struct BridgeDriver {
  var host: RouteNetlink
  var hostNamespacePath: String?

  /// The network's bridge, created if missing, with its gateways and up: idempotent, and safe when two processes
  /// race (the loser's `EEXIST` is checked to be a bridge, and both then set the same addresses and flags).
  func ensureBridge(_ network: Network) throws(NetworkError) -> Int32 {
    let name = network.networkInterface
    var link = try netlink { () throws(NetlinkError) in try host.link(named: name) }
    var created = false
    if link == nil {
      do {
        try host.createBridge(
          name: name, mac: NativeNames.bridgeMAC(name: name),
          mtu: network.options["mtu"].flatMap { UInt32($0) }.flatMap { $0 == 0 ? nil : $0 })
        created = true
      } catch  where error.errno == EEXIST {
        // Another process made it a moment ago.
      } catch {
        throw NetworkError(.io, "creating bridge \(name) of network \(network.name): \(error)", causes: [error])
      }
      link = try netlink { () throws(NetlinkError) in try host.link(named: name) }
      try enableForwarding(network)
    }
    guard let link else { throw NetworkError(.io, "bridge \(name) of network \(network.name) vanished") }
    guard link.kind == "bridge" else {
      throw NetworkError(
        .alreadyExists,
        "interface \(name) exists and is not a bridge (\(link.kind ?? "no kind")): network \(network.name) needs it; remove it or recreate the network with another interface name"
      )
    }
    var vrf: Int32?
    if let name = network.options["vrf"] {
      guard let device = try netlink({ () throws(NetlinkError) in try host.link(named: name) }),
        device.kind == "vrf"
      else {
        throw NetworkError(
          .notFound,
          "vrf \(name) of network \(network.name) does not exist (create it first: ip link add \(name) type vrf table N)"
        )
      }
      vrf = device.index
    }
    // The gateways (replaced, so present ones are no error), then up, as its master's port, with forwarding off on
    // an internal network and route_localnet on on others (ports published on 127.0.0.1 are routed to it, as
    // netavark does): one datagram, repeated on every use so that a bridge someone changed is set right.
    var batch: [(message: NetlinkMessage, operation: String)] = []
    for subnet in network.subnets {
      guard let gateway = subnet.gateway,
        let address = try? IPNetwork(address: gateway, prefixLength: subnet.subnet.prefixLength)
      else { continue }
      batch.append((.newAddress(address, index: link.index, replace: true), "add \(address) to bridge \(name)"))
    }
    batch.append(
      (
        // Only a bridge made here is tagged: garbage collection may delete an idle bridge of ours, never one that
        // someone else made (a user's, or netavark's before a switch of backends).
        .setLink(
          index: link.index, up: true, master: vrf,
          alias: created ? NativeNames.bridgeAlias(networkID: network.id, internal: network.internal) : nil,
          ipv4: network.internal ? [.forwarding: 0] : [.routeLocalnet: 1]),
        "set bridge \(name) up"
      ))
    try netlink { () throws(NetlinkError) in try host.requests(batch) }
    return link.index
  }

  /// Creates the container's veth: the host end, a port of `bridge` tagged as ours, and its peer inside the
  /// namespace behind `namespaceFD` with the container's name, MAC and MTU. A host end of the same name left by an
  /// earlier container of the same ID (a restart within the moment the kernel takes to drop a deleted namespace's
  /// links) is ours by its tag, and replaced.
  func createVeth(_ attachment: NativeAttachment, bridge: Int32, namespaceFD: Int32) throws(NetworkError) {
    let message = NetlinkMessage.newVeth(
      name: attachment.hostInterface, peer: attachment.interfaceName, peerNamespaceFD: namespaceFD,
      peerMAC: attachment.mac, mtu: attachment.mtu)
    let operation = "creating veth \(attachment.hostInterface) for network \(attachment.network.name)"
    do {
      try host.request(message, operation: operation)
    } catch  where error.errno == EEXIST {
      let alias = NativeNames.alias(containerID: attachment.containerID, networkID: attachment.network.id)
      let leftover = try netlink { () throws(NetlinkError) in try host.link(named: attachment.hostInterface) }
      guard let leftover, leftover.alias == alias else {
        throw NetworkError(
          .alreadyExists,
          "\(operation): the name \(attachment.hostInterface) is taken by a link that is not this container's (or interface \(attachment.interfaceName) exists in the container)",
          causes: [error])
      }
      try netlink { () throws(NetlinkError) in
        try host.request(.deleteLink(index: leftover.index), operation: "deleting leftover \(attachment.hostInterface)")
        try host.request(message, operation: operation)
      }
    } catch {
      throw NetworkError(.io, "\(operation): \(error)", causes: [error])
    }
    var port: [(message: NetlinkMessage, operation: String)] = [
      (
        .setLink(
          name: attachment.hostInterface, up: true, master: bridge,
          alias: NativeNames.alias(containerID: attachment.containerID, networkID: attachment.network.id)),
        "attaching \(attachment.hostInterface) to bridge \(attachment.network.networkInterface)"
      )
    ]
    // A container that publishes ports may reach them through a host address: the host routes that traffic back out
    // of the port it came in by, which the bridge does only in hairpin mode. Others keep it off, so that their own
    // broadcasts are not reflected to them.
    if !attachment.forwards.isEmpty {
      port.append(
        (.setBridgePort(name: attachment.hostInterface, hairpin: true), "hairpin mode on \(attachment.hostInterface)"))
    }
    do {
      try host.requests(port)
    } catch {
      // Made above and not yet tagged, so no teardown would take it for the container's: removed here.
      _ = try? host.request(.deleteLink(name: attachment.hostInterface), operation: "undo veth")
      throw NetworkError(.io, "\(error)", causes: [error])
    }
  }

  /// Removes the host end (the peer goes with it), or only takes it down when the namespace is about to go and
  /// takes the pair with it. A link that is already gone is no error.
  func removeVeth(named name: String, namespaceWillBeRemoved: Bool) throws(NetworkError) {
    let message: NetlinkMessage =
      namespaceWillBeRemoved ? .setLink(name: name, up: false) : .deleteLink(name: name)
    try netlink { () throws(NetlinkError) in
      try host.requestIfLinkExists(
        message, operation: namespaceWillBeRemoved ? "taking \(name) down" : "deleting \(name)")
    }
  }

  /// Deletes the network's bridge, if it is there and a bridge.
  func removeBridge(_ network: Network) throws(NetworkError) {
    guard let link = try netlink({ () throws(NetlinkError) in try host.link(named: network.networkInterface) }),
      link.kind == "bridge"
    else { return }
    try netlink { () throws(NetlinkError) in
      try host.requestIfLinkExists(
        .deleteLink(index: link.index), operation: "deleting bridge \(network.networkInterface)")
    }
  }

  /// Routing between the bridge and the rest of the host, as netavark turns it on for a network that is not
  /// internal: `ip_forward` (and IPv6 `all.forwarding` when the network has IPv6), written only when off. Turning
  /// `ip_forward` on sets every interface's `forwarding` too, so internal networks' bridges get theirs off again.
  private func enableForwarding(_ network: Network) throws(NetworkError) {
    guard !network.internal else { return }
    let ipv6 = network.subnets.contains { $0.subnet.address.isIPv6 }
    let write: @Sendable () throws -> Bool = {
      let turnedOn = try Sysctl.enable("/proc/sys/net/ipv4/ip_forward")
      if ipv6 { try Sysctl.enable("/proc/sys/net/ipv6/conf/all/forwarding") }
      return turnedOn
    }
    do {
      let turnedOn = try hostNamespacePath.map { try NetworkNamespace.run(in: $0, write) } ?? write()
      guard turnedOn else { return }
      let internalBridges = try netlink { () throws(NetlinkError) in try host.links() }.filter {
        $0.alias?.hasPrefix(NativeNames.bridgeAliasPrefix) == true
          && $0.alias?.hasSuffix(NativeNames.internalBridgeSuffix) == true
      }
      try netlink { () throws(NetlinkError) in
        try host.requests(
          internalBridges.map {
            (.setLink(index: $0.index, ipv4: [.forwarding: 0]), "turn forwarding off on \($0.name)")
          })
      }
    } catch {
      throw NetworkError(.io, "enabling forwarding for network \(network.name): \(error)", causes: [error])
    }
  }
}
