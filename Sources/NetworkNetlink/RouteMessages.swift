import NetworkAddress

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The rtnetlink requests the dataplane sends, as values: built here, sent by ``RouteNetlink`` one at a time or
/// several in one datagram, and compared byte for byte in tests.
extension NetlinkMessage {
  /// `RTM_NEWLINK` kind veth: `name` here, its peer `peer` in the namespace behind `peerNamespaceFD` (here when
  /// nil), with the peer's MAC when given. Neither end comes up: the peer cannot be brought up at creation (the kernel
  /// answers `ENOTCONN`), and the host end goes up when it joins its bridge.
  public static func newVeth(
    name: String, peer: String, peerNamespaceFD: Int32? = nil, peerMAC: MACAddress? = nil, mtu: UInt32? = nil
  ) -> NetlinkMessage {
    var message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack | Netlink.Flag.create | Netlink.Flag.excl,
      header: Netlink.ifinfomsg())
    message.append(Netlink.Link.name, string: name)
    if let mtu { message.append(Netlink.Link.mtu, uint32: mtu) }
    message.beginNest(Netlink.Link.info)
    message.append(1, string: "veth")  // IFLA_INFO_KIND
    message.beginNest(2)  // IFLA_INFO_DATA
    // VETH_INFO_PEER: an ifinfomsg, then the peer's own attributes.
    var peerAttributes = NetlinkMessage(type: 0, flags: 0, header: Netlink.ifinfomsg())
    peerAttributes.append(Netlink.Link.name, string: peer)
    if let mtu { peerAttributes.append(Netlink.Link.mtu, uint32: mtu) }
    if let peerMAC { peerAttributes.append(Netlink.Link.address, peerMAC.bytes) }
    if let peerNamespaceFD {
      peerAttributes.append(Netlink.Link.namespaceFD, uint32: UInt32(bitPattern: peerNamespaceFD))
    }
    message.append(1, Array(peerAttributes.bytes.dropFirst(16)))
    message.endNest()
    message.endNest()
    return message
  }

  /// `RTM_NEWLINK` kind bridge with a fixed MAC (the kernel would otherwise change it as ports come and go).
  public static func newBridge(name: String, mac: MACAddress, mtu: UInt32? = nil) -> NetlinkMessage {
    var message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack | Netlink.Flag.create | Netlink.Flag.excl,
      header: Netlink.ifinfomsg())
    message.append(Netlink.Link.name, string: name)
    message.append(Netlink.Link.address, mac.bytes)
    if let mtu { message.append(Netlink.Link.mtu, uint32: mtu) }
    message.beginNest(Netlink.Link.info)
    message.append(1, string: "bridge")  // IFLA_INFO_KIND
    message.endNest()
    return message
  }

  /// The modes of a macvlan link (`MACVLAN_MODE_*`), by Podman's names.
  public enum MacvlanMode: UInt32, Sendable {
    case `private` = 1
    case vepa = 2
    case bridge = 4
    case passthru = 8
    case source = 16

    /// Podman's `-o mode=` value; empty is netavark's default, bridge.
    public init?(podmanName: String) {
      switch podmanName {
      case "", "bridge": self = .bridge
      case "private": self = .private
      case "vepa": self = .vepa
      case "passthru": self = .passthru
      case "source": self = .source
      default: return nil
      }
    }
  }

  /// `RTM_NEWLINK` kind macvlan on the link `parent` (an index here), created directly in the namespace behind
  /// `namespaceFD` under `name`: the name is checked there, so it may exist in this namespace already.
  public static func newMacvlan(
    name: String, parent: Int32, mode: MacvlanMode, namespaceFD: Int32?, mac: MACAddress? = nil, mtu: UInt32? = nil
  ) -> NetlinkMessage {
    var message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack | Netlink.Flag.create | Netlink.Flag.excl,
      header: Netlink.ifinfomsg())
    message.append(Netlink.Link.name, string: name)
    message.append(Netlink.Link.parent, uint32: UInt32(bitPattern: parent))
    if let mtu { message.append(Netlink.Link.mtu, uint32: mtu) }
    if let mac { message.append(Netlink.Link.address, mac.bytes) }
    if let namespaceFD { message.append(Netlink.Link.namespaceFD, uint32: UInt32(bitPattern: namespaceFD)) }
    message.beginNest(Netlink.Link.info)
    message.append(1, string: "macvlan")  // IFLA_INFO_KIND
    message.beginNest(2)  // IFLA_INFO_DATA
    message.append(1, uint32: mode.rawValue)  // IFLA_MACVLAN_MODE
    message.endNest()
    message.endNest()
    return message
  }

  /// Per-interface IPv4 settings (`IPV4_DEVCONF_*`), set through `IFLA_AF_SPEC` with no file in /proc/sys.
  public enum IPv4DeviceSetting: UInt16, Sendable, Comparable {
    case forwarding = 1
    case rpFilter = 8
    case arpNotify = 22
    case routeLocalnet = 26

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
  }

  /// A change to an existing link, found by `index` or else by `name`: up or down, a new bridge `master`, an
  /// `alias` (the kernel ignores `IFLA_IFALIAS` at creation, so ownership tags go here), and IPv4 settings.
  public static func setLink(
    index: Int32 = 0, name: String? = nil, up: Bool? = nil, master: Int32? = nil, alias: String? = nil,
    ipv4: [IPv4DeviceSetting: UInt32] = [:]
  ) -> NetlinkMessage {
    let flags: UInt32 = up == true ? UInt32(IFF_UP) : 0
    var message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack,
      header: Netlink.ifinfomsg(index: index, flags: flags, change: up == nil ? 0 : UInt32(IFF_UP)))
    if index == 0, let name { message.append(Netlink.Link.name, string: name) }
    if let master { message.append(Netlink.Link.master, uint32: UInt32(bitPattern: master)) }
    if let alias { message.append(Netlink.Link.alias, string: alias) }
    if !ipv4.isEmpty {
      message.beginNest(Netlink.Link.afSpec)
      message.beginNest(UInt16(AF_INET))
      message.beginNest(1)  // IFLA_INET_CONF
      for (setting, value) in ipv4.sorted(by: { $0.key < $1.key }) { message.append(setting.rawValue, uint32: value) }
      message.endNest()
      message.endNest()
      message.endNest()
    }
    return message
  }

  /// `RTM_NEWLINK` of a bridge port (by name when `index` is 0): its hairpin mode (`IFLA_BRPORT_MODE`), which lets
  /// a frame that the host routes back to the port it came from leave through that port (a container reaching its
  /// own published port through a host address). The link must be a port of its bridge already.
  public static func setBridgePort(index: Int32 = 0, name: String? = nil, hairpin: Bool) -> NetlinkMessage {
    var message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack, header: Netlink.ifinfomsg(index: index))
    if index == 0, let name { message.append(Netlink.Link.name, string: name) }
    message.beginNest(Netlink.Link.info)
    message.append(4, string: "bridge")  // IFLA_INFO_SLAVE_KIND
    message.beginNest(5)  // IFLA_INFO_SLAVE_DATA
    message.append(4, uint8: hairpin ? 1 : 0)  // IFLA_BRPORT_MODE
    message.endNest()
    message.endNest()
    return message
  }

  /// `RTM_DELLINK` by index, or by name when the index is 0 (no lookup first). A veth takes its peer with it.
  public static func deleteLink(index: Int32 = 0, name: String? = nil) -> NetlinkMessage {
    var message = NetlinkMessage(
      type: Netlink.MessageType.deleteLink, flags: Netlink.Flag.ack, header: Netlink.ifinfomsg(index: index))
    if index == 0, let name { message.append(Netlink.Link.name, string: name) }
    return message
  }

  /// `RTM_GETLINK` of the link `name`, without statistics (they are most of an answer, and unused).
  public static func getLink(name: String) -> NetlinkMessage {
    var message = NetlinkMessage(
      type: Netlink.MessageType.getLink, flags: Netlink.Flag.ack, header: Netlink.ifinfomsg())
    message.append(Netlink.Link.name, string: name)
    message.append(29, uint32: 1 << 3)  // IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS
    return message
  }

  /// `RTM_NEWADDR`: `address` (its prefix length included) on the link `index`; IPv6 without duplicate address
  /// detection, so that it is usable at once. With `replace`, an address that is there already is no error.
  public static func newAddress(_ address: IPNetwork, index: Int32, replace: Bool = false) -> NetlinkMessage {
    let v4 = address.address.isIPv4
    var message = NetlinkMessage(
      type: Netlink.MessageType.newAddress,
      flags: Netlink.Flag.ack | Netlink.Flag.create | (replace ? Netlink.Flag.replace : Netlink.Flag.excl),
      header: Netlink.ifaddrmsg(
        family: UInt8(v4 ? AF_INET : AF_INET6), prefixLength: UInt8(address.prefixLength), index: index))
    let bytes = address.address.networkOrderBytes
    message.append(2, bytes)  // IFA_LOCAL
    message.append(1, bytes)  // IFA_ADDRESS
    if !v4 { message.append(8, uint32: 0x02) }  // IFA_FLAGS = IFA_F_NODAD
    return message
  }

  /// The kinds of route Podman 5 writes (`rtm_type`).
  public enum RouteKind: UInt8, Sendable {
    case unicast = 1
    case blackhole = 6
    case unreachable = 7
    case prohibit = 8
  }

  /// `RTM_NEWROUTE` in the main table: to `destination` (the default route when nil) via `gateway` (on the link
  /// when nil) through the link `index`, with `metric` when given. Routes of the other kinds have no link.
  ///
  /// Without `NLM_F_EXCL`, as netavark adds routes: IPv4 refuses a second route to the same destination with the
  /// same metric under EXCL even through another gateway and link, which is what a container on two networks gets
  /// (a default route through each). An identical route is still refused (`EEXIST`).
  public static func newRoute(
    destination: IPNetwork?, gateway: IPAddress?, index: Int32?, metric: UInt32? = nil, kind: RouteKind = .unicast,
    isIPv6: Bool
  ) -> NetlinkMessage {
    // rtmsg: family, destination length, source length, tos, table (main), protocol (static), scope, type, flags.
    let scope: UInt8 = kind != .unicast ? 0 : (gateway == nil ? 253 : 0)  // RT_SCOPE_LINK without a gateway
    let header: [UInt8] =
      [UInt8(isIPv6 ? AF_INET6 : AF_INET), UInt8(destination?.prefixLength ?? 0), 0, 0, 254, 4, scope, kind.rawValue]
      + Netlink.le32(0)
    var message = NetlinkMessage(
      type: Netlink.MessageType.newRoute, flags: Netlink.Flag.ack | Netlink.Flag.create,
      header: header)
    if let destination { message.append(1, destination.masked.address.networkOrderBytes) }  // RTA_DST
    if let gateway { message.append(5, gateway.networkOrderBytes) }  // RTA_GATEWAY
    if let index, kind == .unicast { message.append(4, uint32: UInt32(bitPattern: index)) }  // RTA_OIF
    if let metric { message.append(6, uint32: metric) }  // RTA_PRIORITY
    return message
  }

  /// `RTM_DELROUTE` of a route in the main table that `newRoute` added: matched by destination, kind and family
  /// (routes of the kinds other than unicast belong to no link, so deleting an interface leaves them).
  public static func deleteRoute(destination: IPNetwork?, kind: RouteKind = .unicast, isIPv6: Bool) -> NetlinkMessage {
    let header: [UInt8] =
      [UInt8(isIPv6 ? AF_INET6 : AF_INET), UInt8(destination?.prefixLength ?? 0), 0, 0, 254, 4, 0, kind.rawValue]
      + Netlink.le32(0)
    var message = NetlinkMessage(type: Netlink.MessageType.deleteRoute, flags: Netlink.Flag.ack, header: header)
    if let destination { message.append(1, destination.masked.address.networkOrderBytes) }  // RTA_DST
    return message
  }

  /// `RTM_GETROUTE` dump of one family's routes.
  public static func dumpRoutes(isIPv6: Bool) -> NetlinkMessage {
    NetlinkMessage(
      type: Netlink.MessageType.getRoute, flags: Netlink.Flag.ack | Netlink.Flag.dump,
      header: [UInt8(isIPv6 ? AF_INET6 : AF_INET)] + [UInt8](repeating: 0, count: 11))
  }
}

extension IPAddress {
  /// The address as the kernel takes it: 4 or 16 bytes, most significant first.
  public var networkOrderBytes: [UInt8] {
    let count = isIPv4 ? 4 : 16
    return (0..<count).map { UInt8((value >> (8 * UInt128(count - 1 - $0))) & 0xff) }
  }
}
