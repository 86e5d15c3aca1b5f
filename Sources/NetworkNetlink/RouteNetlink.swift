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

  /// A socket of the network namespace at `namespacePath`, opened on a thread of its own that enters it (the
  /// socket stays bound to that namespace; the calling thread never changes namespace).
  public convenience init(namespacePath: String) throws(NetlinkError) {
    self.init(socket: try LinuxNetlinkSocket(namespacePath: namespacePath))
  }

  /// Sends `message` and waits for its acknowledgement; returns the replies that came before it (a GET's answer).
  @discardableResult
  public func request(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> [NetlinkReply] {
    sequence &+= 1
    return try socket.exchange(message, sequence: sequence, operation: operation)
  }

  /// Sends a request about one link that may be gone already (deleting it, taking it down): `ENODEV` counts as
  /// done. Returns whether the link was there.
  @discardableResult
  public func requestIfLinkExists(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> Bool {
    do {
      try request(message, operation: operation)
      return true
    } catch  where error.errno == ENODEV {
      return false
    }
  }

  /// Sends every request in one datagram and waits for all their acknowledgements. The kernel runs them in order
  /// and each on its own (not as a transaction): the first failure is thrown after every answer is read, so the
  /// socket stays in step. A request whose errno is in `tolerating` counts as done.
  public func requests(_ batch: [(message: NetlinkMessage, operation: String)], tolerating: Set<Int32> = [])
    throws(NetlinkError)
  {
    for result in try results(of: batch) {
      if let failure = result, !tolerating.contains(failure.errno) { throw failure }
    }
  }

  /// Sends every request in one datagram and returns each one's outcome, in order: nil for done, else its error.
  /// What a caller undoes after a partial failure is exactly what succeeded.
  public func results(of batch: [(message: NetlinkMessage, operation: String)]) throws(NetlinkError)
    -> [NetlinkError?]
  {
    guard !batch.isEmpty else { return [] }
    let first = sequence &+ 1
    var datagram: [UInt8] = []
    for (offset, item) in batch.enumerated() { datagram += item.message.encoded(sequence: first &+ UInt32(offset)) }
    sequence = first &+ UInt32(batch.count - 1)
    try socket.send(datagram)
    var outcomes = [NetlinkError?](repeating: nil, count: batch.count)
    var answered = [Bool](repeating: false, count: batch.count)
    var pending = batch.count
    while pending > 0 {
      for reply in NetlinkReply.split(try socket.receive()) {
        let offset = Int(reply.sequence &- first)
        guard offset >= 0, offset < batch.count, !answered[offset], let (code, text) = reply.acknowledgement
        else { continue }
        answered[offset] = true
        pending -= 1
        if code != 0 {
          outcomes[offset] = NetlinkError(operation: batch[offset].operation, errno: code, kernelMessage: text)
        }
      }
    }
    return outcomes
  }

  /// What a link is: its index, kind (`veth`, `bridge`, …; nil for kindless links such as `lo`), bridge master
  /// and alias. Nil when there is no link of that name.
  public func link(named name: String) throws(NetlinkError) -> LinkInfo? {
    let replies: [NetlinkReply]
    do {
      replies = try request(.getLink(name: name), operation: "RTM_GETLINK \(name)")
    } catch  where error.errno == ENODEV {
      return nil
    }
    return replies.lazy.compactMap(Self.linkInfo).first
  }

  /// A link as an `RTM_NEWLINK` reply describes it.
  static func linkInfo(_ reply: NetlinkReply) -> LinkInfo? {
    guard reply.type == Netlink.MessageType.newLink, reply.payload.count >= 16 else { return nil }
    let attributes = reply.attributes(afterHeader: 16)
    let info = attributes[Netlink.Link.info].map(NetlinkReply.attributes(in:)) ?? [:]
    func text(_ bytes: ArraySlice<UInt8>?) -> String? {
      bytes.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    return LinkInfo(
      index: Int32(bitPattern: Netlink.readLE32(reply.payload, at: 4)), name: text(attributes[Netlink.Link.name]) ?? "",
      kind: text(info[1]),
      master: attributes[Netlink.Link.master].map { Int32(bitPattern: Netlink.readLE32($0, at: 0)) },
      alias: text(attributes[Netlink.Link.alias]))
  }

  /// Every link of the namespace (one dump).
  public func links() throws(NetlinkError) -> [LinkInfo] {
    var message = NetlinkMessage(
      type: Netlink.MessageType.getLink, flags: Netlink.Flag.ack | Netlink.Flag.dump, header: Netlink.ifinfomsg())
    message.append(29, uint32: 1 << 3)  // IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS
    return try request(message, operation: "RTM_GETLINK dump").compactMap(Self.linkInfo)
  }

  /// The index of the link called `name`.
  public func linkIndex(_ name: String) throws(NetlinkError) -> Int32 {
    guard let link = try link(named: name) else { throw NetlinkError(operation: "RTM_GETLINK \(name)", errno: ENODEV) }
    return link.index
  }

  /// The link of the main table's default route for one family, if there is one.
  public func defaultRouteLink(isIPv6: Bool) throws(NetlinkError) -> Int32? {
    let replies = try request(.dumpRoutes(isIPv6: isIPv6), operation: "RTM_GETROUTE")
    for reply in replies where reply.type == Netlink.MessageType.newRoute && reply.payload.count >= 12 {
      // rtmsg: destination length at 1, table at 4, type at 7 (unicast).
      guard reply.payload[reply.payload.startIndex + 1] == 0, reply.payload[reply.payload.startIndex + 4] == 254,
        reply.payload[reply.payload.startIndex + 7] == 1
      else { continue }
      if let oif = reply.attributes(afterHeader: 12)[4] { return Int32(bitPattern: Netlink.readLE32(oif, at: 0)) }
    }
    return nil
  }

  /// Creates a veth pair (``NetlinkMessage/newVeth(name:peer:peerNamespaceFD:peerMAC:mtu:)``).
  public func createVeth(
    name: String, peer: String, peerNamespaceFD: Int32? = nil, peerMAC: MACAddress? = nil, mtu: UInt32? = nil
  ) throws(NetlinkError) {
    try request(
      .newVeth(name: name, peer: peer, peerNamespaceFD: peerNamespaceFD, peerMAC: peerMAC, mtu: mtu),
      operation: "RTM_NEWLINK veth \(name)")
  }

  /// Sets the link up or down.
  public func setLink(index: Int32, up: Bool) throws(NetlinkError) {
    try request(.setLink(index: index, up: up), operation: "RTM_NEWLINK \(up ? "up" : "down") \(index)")
  }

  /// Deletes the link (a veth takes its peer with it).
  public func deleteLink(index: Int32) throws(NetlinkError) {
    try request(.deleteLink(index: index), operation: "RTM_DELLINK \(index)")
  }

  /// Adds `address` to the link (``NetlinkMessage/newAddress(_:index:replace:)``).
  public func addAddress(_ address: IPNetwork, index: Int32) throws(NetlinkError) {
    try request(.newAddress(address, index: index), operation: "RTM_NEWADDR \(address)")
  }

  /// Creates a bridge with a fixed MAC; `EEXIST` is the caller's to judge (another process may have made it a moment
  /// ago).
  public func createBridge(name: String, mac: MACAddress, mtu: UInt32? = nil) throws(NetlinkError) {
    try request(.newBridge(name: name, mac: mac, mtu: mtu), operation: "RTM_NEWLINK bridge \(name)")
  }

  /// Makes the link a port of the bridge `master`, up, and tags it with `alias` so that garbage collection can tell
  /// our links from others'.
  public func attach(index: Int32, master: Int32, alias: String?) throws(NetlinkError) {
    try request(
      .setLink(index: index, up: true, master: master, alias: alias),
      operation: "RTM_NEWLINK attach \(index) to \(master)")
  }

  /// Adds a route (``NetlinkMessage/newRoute(destination:gateway:index:metric:kind:isIPv6:)``).
  public func addRoute(
    destination: IPNetwork?, gateway: IPAddress?, index: Int32?, metric: UInt32? = nil,
    kind: NetlinkMessage.RouteKind = .unicast, isIPv6: Bool
  ) throws(NetlinkError) {
    try request(
      .newRoute(destination: destination, gateway: gateway, index: index, metric: metric, kind: kind, isIPv6: isIPv6),
      operation: "RTM_NEWROUTE \(destination?.description ?? "default")")
  }
}

/// One link as `RTM_GETLINK` describes it.
public struct LinkInfo: Sendable, Hashable {
  public var index: Int32
  public var name: String
  /// `IFLA_INFO_KIND`: `veth`, `bridge`, `macvlan`, …; nil for links without one (`lo`, physical devices).
  public var kind: String?
  /// The index of the bridge (or VRF) it is a port of.
  public var master: Int32?
  /// `IFLA_IFALIAS`, where our links carry their owner.
  public var alias: String?
}
