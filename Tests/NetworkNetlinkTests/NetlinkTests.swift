import Foundation
import NetworkAddress
import NetworkNamespace
import NetworkNetlink
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Records every datagram sent and answers each request with the reply it is given (an acknowledgement by default),
/// echoing the request's sequence number.
final class RecordingNetlinkSocket: NetlinkSocket {
  var sent: [[UInt8]] = []
  var replies: [(errno: Int32, payload: [UInt8])] = []

  func send(_ bytes: [UInt8]) throws(NetlinkError) { sent.append(bytes) }

  func receive() throws(NetlinkError) -> ArraySlice<UInt8> {
    let request = sent.last!
    let sequence = Array(request[8..<12])
    let (code, extra) = replies.isEmpty ? (0, []) : replies.removeFirst()
    // NLMSG_ERROR, NLM_F_CAPPED, then the error code and the request's header.
    var body = Array(withUnsafeBytes(of: (-code).littleEndian, Array.init)) + Array(request[0..<16]) + extra
    let flags: UInt16 = extra.isEmpty ? 0x100 : 0x300
    body =
      Array(withUnsafeBytes(of: UInt32(16 + body.count).littleEndian, Array.init)) + [2, 0]
      + Array(withUnsafeBytes(of: flags.littleEndian, Array.init)) + sequence + [0, 0, 0, 0] + body
    return body[...]
  }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

@Suite struct NetlinkMessageTests {
  @Test func attributesAndNestsArePaddedAndMeasured() {
    var message = NetlinkMessage(type: 16, flags: 0x4, header: [1, 2, 3])
    message.append(3, string: "ab")
    message.beginNest(18)
    message.append(1, string: "veth")
    message.endNest()
    // Header (length 44, type 16, flags REQUEST|ACK, sequence 7), the 3-byte family header padded to 4, IFNAME "ab\0"
    // padded, then LINKINFO (nested flag) holding KIND "veth\0".
    #expect(
      hex(message.encoded(sequence: 7))
        == "2c000000" + "1000" + "0500" + "07000000" + "00000000" + "01020300" + "0700" + "0300" + "61620000"
        + "1000" + "1280" + "0900" + "0100" + "7665746800000000")
  }

  @Test func vethRequestGoldenBytes() throws {
    let socket = RecordingNetlinkSocket()
    let netlink = RouteNetlink(socket: socket)
    try netlink.createVeth(
      name: "h0", peer: "c0", peerNamespaceFD: 9, peerMAC: MACAddress("02:42:ac:11:00:02"), mtu: 1500)
    let bytes = try #require(socket.sent.first)
    #expect(
      hex(bytes)
        == "7c000000" + "1000" + "0506" + "01000000" + "00000000"  // NEWLINK, REQUEST|ACK|EXCL|CREATE, sequence 1
        + "00000000" + "00000000" + "00000000" + "00000000"  // ifinfomsg
        + "0700" + "0300" + "68300000"  // IFLA_IFNAME h0
        + "0800" + "0400" + "dc050000"  // IFLA_MTU 1500
        + "4c00" + "1280"  // IFLA_LINKINFO
        + "0900" + "0100" + "7665746800000000"  // IFLA_INFO_KIND veth
        + "3c00" + "0280"  // IFLA_INFO_DATA
        + "3800" + "0100"  // VETH_INFO_PEER
        + "00000000" + "00000000" + "00000000" + "00000000"  // the peer's ifinfomsg
        + "0700" + "0300" + "63300000"  // IFLA_IFNAME c0
        + "0800" + "0400" + "dc050000"  // IFLA_MTU
        + "0a00" + "0100" + "0242ac1100020000"  // IFLA_ADDRESS
        + "0800" + "1c00" + "09000000")  // IFLA_NET_NS_FD 9
  }

  @Test func addressRequestGoldenBytes() throws {
    let socket = RecordingNetlinkSocket()
    try RouteNetlink(socket: socket).addAddress(IPNetwork("fd00::5/64")!, index: 3)
    #expect(
      hex(try #require(socket.sent.first))
        == "48000000" + "1400" + "0506" + "01000000" + "00000000"
        + "0a400000" + "03000000"  // ifaddrmsg: AF_INET6, /64, index 3
        + "1400" + "0200" + "fd000000000000000000000000000005"  // IFA_LOCAL
        + "1400" + "0100" + "fd000000000000000000000000000005"  // IFA_ADDRESS
        + "0800" + "0800" + "02000000")  // IFA_FLAGS NODAD
  }

  @Test func theKernelsReasonComesWithTheErrno() {
    let socket = RecordingNetlinkSocket()
    // NLMSGERR_ATTR_MSG "Unknown device type" after the echoed header.
    let text = Array("Unknown device type".utf8) + [0]
    var attribute = Array(withUnsafeBytes(of: UInt16(4 + text.count).littleEndian, Array.init)) + [1, 0] + text
    while attribute.count % 4 != 0 { attribute.append(0) }
    socket.replies = [(95, attribute)]
    let error = #expect(throws: NetlinkError.self) {
      try RouteNetlink(socket: socket).createVeth(name: "h0", peer: "c0")
    }
    #expect(error?.errno == 95 && error?.kernelMessage == "Unknown device type")
    #expect(error?.description == "RTM_NEWLINK veth h0: Operation not supported (Unknown device type)")
  }

  @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root (a network namespace)"))
  func aVethPairWithAddressesInARealNamespace() throws {
    let namespace = try TestNamespace(prefix: "nlt")
    defer { namespace.remove() }
    try NetworkNamespace.run(in: namespace.path) {
      let netlink = try RouteNetlink()
      try netlink.createVeth(name: "nlt0", peer: "nlt1", peerMAC: MACAddress("02:42:ac:11:00:09"))
      let index = try netlink.linkIndex("nlt0")
      try netlink.addAddress(IPNetwork("10.66.1.5/24")!, index: index)
      try netlink.addAddress(IPNetwork("fd66::5/64")!, index: index)
      try netlink.setLink(index: index, up: true)
      let duplicate = #expect(throws: NetlinkError.self) { try netlink.createVeth(name: "nlt0", peer: "nlt2") }
      #expect(duplicate?.errno == EEXIST)
    }
    let addresses = try namespace.run(["ip", "-o", "addr", "show", "dev", "nlt0"]).stdout
    #expect(addresses.contains("inet 10.66.1.5/24") && addresses.contains("inet6 fd66::5/64"))
    #expect(!addresses.contains("tentative"))
    #expect(try namespace.run(["cat", "/sys/class/net/nlt1/address"]).stdout == "02:42:ac:11:00:09\n")
    try NetworkNamespace.run(in: namespace.path) {
      let netlink = try RouteNetlink()
      try netlink.deleteLink(index: try netlink.linkIndex("nlt0"))
      #expect(throws: NetlinkError.self) { try netlink.linkIndex("nlt1") }
    }
    #expect(try namespace.linkNames() == ["lo"])
  }

  @Test func routeRequestGoldenBytes() throws {
    let socket = RecordingNetlinkSocket()
    try RouteNetlink(socket: socket).addRoute(
      destination: nil, gateway: IPAddress("10.89.0.1"), index: 2, metric: 100, isIPv6: false)
    #expect(
      hex(try #require(socket.sent.first))
        == "34000000" + "1800" + "0504" + "01000000" + "00000000"  // NEWROUTE, REQUEST|ACK|CREATE (no EXCL)
        + "02000000" + "fe040001" + "00000000"  // rtmsg: AF_INET, /0, main, static, universe, unicast
        + "0800" + "0500" + "0a590001"  // RTA_GATEWAY 10.89.0.1
        + "0800" + "0400" + "02000000"  // RTA_OIF 2
        + "0800" + "0600" + "64000000")  // RTA_PRIORITY 100
  }

  /// A bridge, a veth whose peer is born in a container namespace and attached to it, addresses and the default
  /// route: the native backend's sequence, checked with ping through the bridge.
  @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root (network namespaces)"))
  func aBridgeAndAContainerThroughNetlinkAnswerPing() throws {
    let host = try TestNamespace(prefix: "nlh")
    let container = try TestNamespace(prefix: "nlc")
    defer {
      container.remove()
      host.remove()
    }
    let containerFD = open(container.path, O_RDONLY | O_CLOEXEC)
    try #require(containerFD >= 0)
    defer { close(containerFD) }
    try NetworkNamespace.run(in: host.path) {
      let netlink = try RouteNetlink()
      try netlink.createBridge(name: "nlbr0", mac: MACAddress("02:42:0a:58:00:01")!, mtu: 1500)
      let bridge = try netlink.linkIndex("nlbr0")
      try netlink.addAddress(IPNetwork("10.66.2.1/24")!, index: bridge)
      try netlink.setLink(index: bridge, up: true)
      try netlink.createVeth(name: "nlv0", peer: "eth0", peerNamespaceFD: containerFD, mtu: 1500)
      try netlink.attach(index: try netlink.linkIndex("nlv0"), master: bridge, alias: "cnet:test")
    }
    try NetworkNamespace.run(in: container.path) {
      let netlink = try RouteNetlink()
      let eth0 = try netlink.linkIndex("eth0")
      try netlink.addAddress(IPNetwork("10.66.2.5/24")!, index: eth0)
      try netlink.setLink(index: eth0, up: true)
      try netlink.setLink(index: try netlink.linkIndex("lo"), up: true)
      try netlink.addRoute(destination: nil, gateway: IPAddress("10.66.2.1"), index: eth0, metric: 100, isIPv6: false)
    }
    #expect(try host.run(["cat", "/sys/class/net/nlv0/ifalias"]).stdout == "cnet:test\n")
    #expect(try host.run(["cat", "/sys/class/net/nlbr0/address"]).stdout == "02:42:0a:58:00:01\n")
    let route = try container.run(["ip", "-4", "route", "show", "default"]).stdout
    #expect(route.contains("default via 10.66.2.1 dev eth0") && route.contains("metric 100"), "\(route)")
    let ping = try host.run(["busybox", "ping", "-c", "1", "-W", "3", "10.66.2.5"], check: false)
    #expect(ping.status == 0, "\(ping.stdout)")
  }
}

/// The native dataplane's other requests, byte for byte, and one datagram carrying several.
@Suite struct RouteMessageGoldenTests {
  @Test func macvlanIsBornInTheNamespaceOnItsParent() {
    let message = NetlinkMessage.newMacvlan(
      name: "eth0", parent: 4, mode: .bridge, namespaceFD: 7, mac: MACAddress("02:00:00:00:00:01"), mtu: 9000)
    #expect(
      hex(message.encoded(sequence: 3))
        == "6c000000" + "1000" + "0506" + "03000000" + "00000000"  // NEWLINK, REQUEST|ACK|EXCL|CREATE, sequence 3
        + "00000000" + "00000000" + "00000000" + "00000000"  // ifinfomsg
        + "0900" + "0300" + "6574683000000000"  // IFLA_IFNAME eth0
        + "0800" + "0500" + "04000000"  // IFLA_LINK 4
        + "0800" + "0400" + "28230000"  // IFLA_MTU 9000
        + "0a00" + "0100" + "0200000000010000"  // IFLA_ADDRESS
        + "0800" + "1c00" + "07000000"  // IFLA_NET_NS_FD 7
        + "1c00" + "1280"  // IFLA_LINKINFO
        + "0c00" + "0100" + "6d6163766c616e00"  // IFLA_INFO_KIND macvlan
        + "0c00" + "0280" + "0800" + "0100" + "04000000")  // IFLA_INFO_DATA { IFLA_MACVLAN_MODE bridge }
  }

  @Test func aChangeOfLinkCarriesMasterAliasAndIPv4Settings() {
    let message = NetlinkMessage.setLink(
      index: 5, up: true, master: 2, alias: "cnet:a", ipv4: [.rpFilter: 2, .arpNotify: 1])
    #expect(
      hex(message.encoded(sequence: 1))
        == "50000000" + "1000" + "0500" + "01000000" + "00000000"  // NEWLINK, REQUEST|ACK
        + "00000000" + "05000000" + "01000000" + "01000000"  // ifinfomsg: index 5, IFF_UP of IFF_UP
        + "0800" + "0a00" + "02000000"  // IFLA_MASTER 2
        + "0b00" + "1400" + "636e65743a610000"  // IFLA_IFALIAS "cnet:a"
        + "1c00" + "1a80"  // IFLA_AF_SPEC
        + "1800" + "0280"  // AF_INET
        + "1400" + "0180"  // IFLA_INET_CONF, settings in their numeric order
        + "0800" + "0800" + "02000000"  // IPV4_DEVCONF_RP_FILTER 2
        + "0800" + "1600" + "01000000")  // IPV4_DEVCONF_ARP_NOTIFY 1
  }

  @Test func linksAreDeletedAndChangedByNameWithoutALookup() {
    #expect(
      hex(NetlinkMessage.deleteLink(name: "cn1").encoded(sequence: 2))
        == "28000000" + "1100" + "0500" + "02000000" + "00000000"  // DELLINK, REQUEST|ACK
        + "00000000" + "00000000" + "00000000" + "00000000"  // ifinfomsg: index 0
        + "0800" + "0300" + "636e3100")  // IFLA_IFNAME cn1
    #expect(
      hex(NetlinkMessage.setLink(name: "cn1", up: false).encoded(sequence: 2))
        == "28000000" + "1000" + "0500" + "02000000" + "00000000"
        + "00000000" + "00000000" + "00000000" + "01000000"  // flags 0 of IFF_UP: down
        + "0800" + "0300" + "636e3100")
  }

  @Test func getLinkSkipsStatistics() {
    #expect(
      hex(NetlinkMessage.getLink(name: "br0").encoded(sequence: 9))
        == "30000000" + "1200" + "0500" + "09000000" + "00000000"  // GETLINK, REQUEST|ACK
        + "00000000" + "00000000" + "00000000" + "00000000"
        + "0800" + "0300" + "62723000"  // IFLA_IFNAME br0
        + "0800" + "1d00" + "08000000")  // IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS
  }

  @Test func aGatewayIsReplacedNotRefused() {
    #expect(
      hex(NetlinkMessage.newAddress(IPNetwork("10.1.0.1/24")!, index: 2, replace: true).encoded(sequence: 1))
        == "28000000" + "1400" + "0505" + "01000000" + "00000000"  // NEWADDR, REQUEST|ACK|REPLACE|CREATE
        + "02180000" + "02000000"  // AF_INET, /24, index 2
        + "0800" + "0200" + "0a010001" + "0800" + "0100" + "0a010001")
  }

  @Test func routesOfTheOtherKindsHaveNoLink() {
    #expect(
      hex(
        NetlinkMessage.newRoute(
          destination: IPNetwork("10.9.0.0/16"), gateway: nil, index: 3, metric: 5, kind: .blackhole, isIPv6: false
        ).encoded(sequence: 1))
        == "2c000000" + "1800" + "0504" + "01000000" + "00000000"  // NEWROUTE, REQUEST|ACK|CREATE (no EXCL)
        + "02100000" + "fe040006" + "00000000"  // AF_INET, /16, main, static, universe, blackhole
        + "0800" + "0100" + "0a090000"  // RTA_DST
        + "0800" + "0600" + "05000000")  // RTA_PRIORITY; no RTA_OIF
  }

  @Test func aRouteOfNoLinkIsDeletedByDestinationAndKind() {
    #expect(
      hex(
        NetlinkMessage.deleteRoute(destination: IPNetwork("fd00:9::/32"), kind: .unreachable, isIPv6: true)
          .encoded(sequence: 6))
        == "30000000" + "1900" + "0500" + "06000000" + "00000000"  // DELROUTE, REQUEST|ACK
        + "0a200000" + "fe040007" + "00000000"  // AF_INET6, /32, main, static, universe, unreachable
        + "1400" + "0100" + "fd000009000000000000000000000000")  // RTA_DST
  }

  @Test func aDumpOfRoutesAsksForEveryEntry() {
    #expect(
      hex(NetlinkMessage.dumpRoutes(isIPv6: true).encoded(sequence: 4))
        == "1c000000" + "1a00" + "0503" + "04000000" + "00000000"  // GETROUTE, REQUEST|ACK|DUMP
        + "0a000000" + "00000000" + "00000000")  // rtmsg AF_INET6
  }

  /// Several requests in one datagram, numbered in sequence, and the first failure reported after every answer.
  @Test func aBatchIsOneDatagramAndReportsItsFirstFailure() throws {
    let socket = AnsweringNetlinkSocket(errnos: [0, 17, 19])
    let netlink = RouteNetlink(socket: socket)
    let batch: [(message: NetlinkMessage, operation: String)] = [
      (.setLink(index: 1, up: true), "lo up"), (.newAddress(IPNetwork("10.1.0.5/24")!, index: 2), "address"),
      (.setLink(index: 2, up: true), "eth0 up"),
    ]
    let error = #expect(throws: NetlinkError.self) { try netlink.requests(batch) }
    #expect(error?.operation == "address" && error?.errno == 17)
    #expect(socket.sent.count == 1)
    let sequences = NetlinkReply.split(socket.sent[0][...]).map(\.sequence)
    #expect(sequences == [1, 2, 3])
    // Tolerated errnos count as done; the next batch continues the numbering.
    socket.errnos = [17, 0]
    try netlink.requests(Array(batch.prefix(2)), tolerating: [17])
    #expect(NetlinkReply.split(socket.sent[1][...]).map(\.sequence) == [4, 5])
  }

  /// The IPv4 settings' numbers are the kernel's: set through netlink, read back from /proc/sys.
  @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root (a network namespace)"))
  func ipv4SettingsLandWhereProcSysShowsThem() throws {
    let namespace = try TestNamespace(prefix: "nls")
    defer { namespace.remove() }
    try NetworkNamespace.run(in: namespace.path) {
      let netlink = try RouteNetlink()
      try netlink.createVeth(name: "nls0", peer: "nls1")
      let link = try #require(try netlink.link(named: "nls0"))
      #expect(link.kind == "veth")
      try netlink.request(
        .setLink(index: link.index, up: true, ipv4: [.arpNotify: 1, .rpFilter: 2, .forwarding: 0, .routeLocalnet: 1]),
        operation: "settings")
      #expect(try netlink.link(named: "nls9") == nil)
    }
    for (name, value) in [("arp_notify", "1"), ("rp_filter", "2"), ("forwarding", "0"), ("route_localnet", "1")] {
      #expect(try namespace.run(["cat", "/proc/sys/net/ipv4/conf/nls0/\(name)"]).stdout == value + "\n", "\(name)")
    }
  }
}
