import ContainerNetworkCore
import NetworkNetlink

#if canImport(Glibc)
  import Glibc
#endif

/// The macvlan driver: the container's interface is a macvlan link on the network's parent (or the host's
/// default-route link), created directly in the container's namespace under its final name.
struct MacvlanDriver {
  var host: RouteNetlink

  func create(_ attachment: NativeAttachment, namespaceFD: Int32) throws(NetworkError) {
    let network = attachment.network
    let mode = network.options["mode"] ?? ""
    guard let macvlanMode = NetlinkMessage.MacvlanMode(podmanName: mode) else {
      throw NetworkError(.invalidArgument, "unknown macvlan mode \(mode) of network \(network.name)")
    }
    let parent: Int32
    if network.networkInterface.isEmpty {
      let found = try netlink { () throws(NetlinkError) -> Int32? in
        if let v4 = try host.defaultRouteLink(isIPv6: false) { return v4 }
        return try host.defaultRouteLink(isIPv6: true)
      }
      guard let found else {
        throw NetworkError(
          .notFound,
          "macvlan network \(network.name) has no parent and the host has no default route to take one from")
      }
      parent = found
    } else {
      guard
        let link = try netlink({ () throws(NetlinkError) in try host.link(named: network.networkInterface) })
      else {
        throw NetworkError(
          .notFound, "parent interface \(network.networkInterface) of network \(network.name) does not exist")
      }
      parent = link.index
    }
    try netlink { () throws(NetlinkError) in
      try host.request(
        .newMacvlan(
          name: attachment.interfaceName, parent: parent, mode: macvlanMode, namespaceFD: namespaceFD,
          mac: attachment.mac, mtu: attachment.mtu),
        operation: "creating macvlan \(attachment.interfaceName) for network \(network.name)")
    }
  }
}
