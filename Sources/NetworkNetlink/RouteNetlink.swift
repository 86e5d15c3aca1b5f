import NetworkAddress

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// rtnetlink requests over one socket: links, addresses and routes. Each request asks for an acknowledgement, and
/// the reply is matched by sequence number (replies to earlier, abandoned requests are skipped, never mistaken).
public final class RouteNetlink {
  let socket: any NetlinkSocket
  private var sequence: UInt32 = 0

  public init(socket: any NetlinkSocket) {
    self.socket = socket
  }

  /// A socket of the calling thread's network namespace.
  public convenience init() throws(NetlinkError) {
    self.init(socket: try LinuxNetlinkSocket())
  }

  /// Sends `message` and waits for its acknowledgement; returns the replies that came before it (a GET's answer).
  @discardableResult
  public func request(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> [NetlinkReply] {
    sequence &+= 1
    let mine = sequence
    try socket.send(message.encoded(sequence: mine))
    var answers: [NetlinkReply] = []
    while true {
      for reply in NetlinkReply.split(try socket.receive()) where reply.sequence == mine {
        if let (code, text) = reply.acknowledgement {
          guard code == 0 else { throw NetlinkError(operation: operation, errno: code, kernelMessage: text) }
          return answers
        }
        if reply.type == Netlink.MessageType.done { return answers }
        answers.append(reply)
      }
    }
  }

  /// The index of the link called `name`.
  public func linkIndex(_ name: String) throws(NetlinkError) -> Int32 {
    var message = NetlinkMessage(
      type: Netlink.MessageType.getLink, flags: Netlink.Flag.ack, header: Netlink.ifinfomsg())
    message.append(3, string: name)  // IFLA_IFNAME
    let replies = try request(message, operation: "RTM_GETLINK \(name)")
    guard let link = replies.first(where: { $0.type == Netlink.MessageType.newLink }), link.payload.count >= 16 else {
      throw NetlinkError(operation: "RTM_GETLINK \(name)", errno: ENODEV)
    }
    return Int32(bitPattern: Netlink.readLE32(link.payload, at: 4))
  }

  /// Creates a veth pair: `name` here, its peer `peer` in the namespace behind `peerNamespaceFD` (here when nil),
  /// with the peer's MAC when given. Neither end is brought up.
  public func createVeth(
    name: String, peer: String, peerNamespaceFD: Int32? = nil, peerMAC: MACAddress? = nil, mtu: UInt32? = nil
  ) throws(NetlinkError) {
    var message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack | Netlink.Flag.create | Netlink.Flag.excl,
      header: Netlink.ifinfomsg())
    message.append(3, string: name)  // IFLA_IFNAME
    if let mtu { message.append(4, uint32: mtu) }  // IFLA_MTU
    message.beginNest(18)  // IFLA_LINKINFO
    message.append(1, string: "veth")  // IFLA_INFO_KIND
    message.beginNest(2)  // IFLA_INFO_DATA
    // VETH_INFO_PEER: an ifinfomsg, then the peer's own attributes.
    var peerAttributes = NetlinkMessage(type: 0, flags: 0, header: Netlink.ifinfomsg())
    peerAttributes.append(3, string: peer)
    if let mtu { peerAttributes.append(4, uint32: mtu) }
    if let peerMAC { peerAttributes.append(1, peerMAC.bytes) }  // IFLA_ADDRESS
    if let peerNamespaceFD { peerAttributes.append(28, uint32: UInt32(bitPattern: peerNamespaceFD)) }  // IFLA_NET_NS_FD
    message.append(1, Array(peerAttributes.bytes.dropFirst(16)))
    message.endNest()
    message.endNest()
    try request(message, operation: "RTM_NEWLINK veth \(name)")
  }

  /// Sets the link up or down.
  public func setLink(index: Int32, up: Bool) throws(NetlinkError) {
    let message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack,
      header: Netlink.ifinfomsg(index: index, flags: up ? UInt32(IFF_UP) : 0, change: UInt32(IFF_UP)))
    try request(message, operation: "RTM_NEWLINK \(up ? "up" : "down") \(index)")
  }

  /// Deletes the link (a veth takes its peer with it).
  public func deleteLink(index: Int32) throws(NetlinkError) {
    let message = NetlinkMessage(
      type: Netlink.MessageType.deleteLink, flags: Netlink.Flag.ack, header: Netlink.ifinfomsg(index: index))
    try request(message, operation: "RTM_DELLINK \(index)")
  }

  /// Adds `address` (its prefix length included) to the link; IPv6 without duplicate address detection, so that it
  /// is usable at once.
  public func addAddress(_ address: IPNetwork, index: Int32) throws(NetlinkError) {
    let v4 = address.address.isIPv4
    var message = NetlinkMessage(
      type: Netlink.MessageType.newAddress, flags: Netlink.Flag.ack | Netlink.Flag.create | Netlink.Flag.excl,
      header: Netlink.ifaddrmsg(
        family: UInt8(v4 ? AF_INET : AF_INET6), prefixLength: UInt8(address.prefixLength), index: index))
    let bytes = address.address.networkOrderBytes
    message.append(2, bytes)  // IFA_LOCAL
    message.append(1, bytes)  // IFA_ADDRESS
    if !v4 { message.append(8, uint32: 0x02) }  // IFA_FLAGS = IFA_F_NODAD
    try request(message, operation: "RTM_NEWADDR \(address)")
  }
}

extension RouteNetlink {
  /// Creates a bridge with a fixed MAC (the kernel would otherwise change it as ports come and go) and `mtu`;
  /// `EEXIST` is the caller's to judge (another process may have made it a moment ago).
  public func createBridge(name: String, mac: MACAddress, mtu: UInt32? = nil) throws(NetlinkError) {
    var message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack | Netlink.Flag.create | Netlink.Flag.excl,
      header: Netlink.ifinfomsg())
    message.append(3, string: name)  // IFLA_IFNAME
    message.append(1, mac.bytes)  // IFLA_ADDRESS
    if let mtu { message.append(4, uint32: mtu) }  // IFLA_MTU
    message.beginNest(18)  // IFLA_LINKINFO
    message.append(1, string: "bridge")  // IFLA_INFO_KIND
    message.endNest()
    try request(message, operation: "RTM_NEWLINK bridge \(name)")
  }

  /// Makes the link a port of the bridge `master`, up, and tags it with `alias` (`IFLA_IFALIAS`: the kernel ignores
  /// it at creation, so it goes in this change) so that garbage collection can tell our links from others'.
  public func attach(index: Int32, master: Int32, alias: String?) throws(NetlinkError) {
    var message = NetlinkMessage(
      type: Netlink.MessageType.newLink, flags: Netlink.Flag.ack,
      header: Netlink.ifinfomsg(index: index, flags: UInt32(IFF_UP), change: UInt32(IFF_UP)))
    message.append(10, uint32: UInt32(bitPattern: master))  // IFLA_MASTER
    if let alias { message.append(20, string: alias) }  // IFLA_IFALIAS
    try request(message, operation: "RTM_NEWLINK attach \(index) to \(master)")
  }

  /// The kinds of route Podman 5 writes (`rtm_type`).
  public enum RouteKind: UInt8, Sendable {
    case unicast = 1
    case blackhole = 6
    case unreachable = 7
    case prohibit = 8
  }

  /// Adds a route in the main table: to `destination` (the default route when nil) via `gateway` (on the link when
  /// nil) through the link `index`, with `metric` when given.
  public func addRoute(
    destination: IPNetwork?, gateway: IPAddress?, index: Int32?, metric: UInt32? = nil, kind: RouteKind = .unicast,
    isIPv6: Bool
  ) throws(NetlinkError) {
    // rtmsg: family, destination length, source length, tos, table (main), protocol (static), scope, type, flags.
    let scope: UInt8 = kind != .unicast ? 0 : (gateway == nil ? 253 : 0)  // RT_SCOPE_LINK without a gateway
    let header: [UInt8] =
      [UInt8(isIPv6 ? AF_INET6 : AF_INET), UInt8(destination?.prefixLength ?? 0), 0, 0, 254, 4, scope, kind.rawValue]
      + Netlink.le32(0)
    var message = NetlinkMessage(
      type: Netlink.MessageType.newRoute, flags: Netlink.Flag.ack | Netlink.Flag.create | Netlink.Flag.excl,
      header: header)
    if let destination { message.append(1, destination.masked.address.networkOrderBytes) }  // RTA_DST
    if let gateway { message.append(5, gateway.networkOrderBytes) }  // RTA_GATEWAY
    if let index, kind == .unicast { message.append(4, uint32: UInt32(bitPattern: index)) }  // RTA_OIF
    if let metric { message.append(6, uint32: metric) }  // RTA_PRIORITY
    try request(message, operation: "RTM_NEWROUTE \(destination?.description ?? "default")")
  }
}

extension IPAddress {
  /// The address as the kernel takes it: 4 or 16 bytes, most significant first.
  public var networkOrderBytes: [UInt8] {
    let count = isIPv4 ? 4 : 16
    return (0..<count).map { UInt8((value >> (8 * UInt128(count - 1 - $0))) & 0xff) }
  }
}
