import NetworkAddress
import SystemSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Creates stand-in links by name in the calling thread's network namespace, with one rtnetlink request each: a
/// veth pair whose other end is called `peer` (veth, because kernels without the `dummy` link type exist, this
/// machine's among them).
///
/// Why this exists before the native backend's netlink module: netavark 1.4 tears a container down only inside its
/// namespace and stops at the first interface it cannot delete, before the port-forwarding rules. When the
/// container's namespace is already gone, a teardown runs it in a fresh namespace holding stand-ins of the
/// container's interfaces, so that every rule is still removed.
public enum StandInLink {
  /// Creates a veth pair `name`–`peer`; throws with the kernel's errno when it cannot.
  public static func create(named name: String, peer: String) throws(SystemCallError) {
    let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SystemCallError(call: "socket(AF_NETLINK)", path: name, errno: errno) }
    defer { close(fd) }
    try exchange(fd, message(name: name, peer: peer, sequence: 1), what: "RTM_NEWLINK veth", name: name)
  }

  /// Adds `address` to the link called `name`, as the container's interface had it: the CNI bridge plugin finds
  /// which masquerade rules to remove from the addresses of the interface it deletes.
  public static func addAddress(_ address: IPNetwork, to name: String) throws(SystemCallError) {
    let index = if_nametoindex(name)
    guard index != 0 else { throw SystemCallError(call: "if_nametoindex", path: name, errno: errno) }
    let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SystemCallError(call: "socket(AF_NETLINK)", path: name, errno: errno) }
    defer { close(fd) }
    let bytes = address.address.isIPv4 ? ipv4Bytes(address.address) : ipv6Bytes(address.address)
    let family: UInt8 = address.address.isIPv4 ? UInt8(AF_INET) : UInt8(AF_INET6)
    // ifaddrmsg: family, prefix length, flags, scope (universe), interface index.
    let header = [family, UInt8(address.prefixLength), 0, 0] + le32(index)
    let payload = header + attribute(2, bytes) + attribute(1, bytes)  // IFA_LOCAL, IFA_ADDRESS
    let flags: UInt16 = 0x1 | 0x4 | 0x200 | 0x400
    let request = le32(UInt32(16 + payload.count)) + le16(20) + le16(flags) + le32(2) + le32(0) + payload
    try exchange(fd, request, what: "RTM_NEWADDR", name: name)
  }

  private static func ipv4Bytes(_ address: IPAddress) -> [UInt8] {
    let value = UInt32(address.value)
    return [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
  }

  private static func ipv6Bytes(_ address: IPAddress) -> [UInt8] {
    (0..<16).map { UInt8((address.value >> (8 * (15 - $0))) & 0xff) }
  }

  /// Sends one request and reads its acknowledgement, throwing the kernel's errno.
  private static func exchange(_ fd: Int32, _ request: [UInt8], what: String, name: String) throws(SystemCallError) {
    let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    guard sent == request.count else { throw SystemCallError(call: "send(\(what))", path: name, errno: errno) }
    var reply = [UInt8](repeating: 0, count: 4096)
    let count = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    // The acknowledgement is an NLMSG_ERROR (type 2) whose first payload word is 0 or a negative errno.
    guard count >= 20, UInt16(reply[4]) | UInt16(reply[5]) << 8 == 2 else {
      throw SystemCallError(call: "recv(\(what))", path: name, errno: count < 0 ? errno : EPROTO)
    }
    let status = Int32(
      bitPattern: UInt32(reply[16]) | UInt32(reply[17]) << 8 | UInt32(reply[18]) << 16 | UInt32(reply[19]) << 24)
    guard status == 0 else { throw SystemCallError(call: what, path: name, errno: -status) }
  }

  private static func attribute(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
    var bytes = le16(UInt16(4 + payload.count)) + le16(type) + payload
    while bytes.count % 4 != 0 { bytes.append(0) }
    return bytes
  }

  /// RTM_NEWLINK with NLM_F_CREATE | NLM_F_EXCL, IFLA_IFNAME = `name`, IFLA_LINKINFO { IFLA_INFO_KIND = "veth",
  /// IFLA_INFO_DATA { VETH_INFO_PEER = ifinfomsg + IFLA_IFNAME `peer` } }.
  static func message(name: String, peer: String, sequence: UInt32) -> [UInt8] {
    let ifinfomsg = [UInt8](repeating: 0, count: 16)  // family, pad, type, index, flags, change: all 0
    let peerInfo = attribute(1, ifinfomsg + attribute(3, Array(peer.utf8) + [0]))
    let linkInfo = attribute(1, Array("veth".utf8) + [0]) + attribute(2, peerInfo)
    let payload = ifinfomsg + attribute(3, Array(name.utf8) + [0]) + attribute(18, linkInfo)
    let flags: UInt16 = 0x1 | 0x4 | 0x200 | 0x400  // REQUEST | ACK | EXCL | CREATE
    return le32(UInt32(16 + payload.count)) + le16(16) + le16(flags) + le32(sequence) + le32(0) + payload
  }

  private static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
  private static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) } }
}
