import ContainerNetworkCore
import NetworkAddress

#if canImport(Glibc)
  import Glibc
#endif

/// The links and addresses of the host namespace: what automatic bridge names and subnets must not collide with.
public struct HostInterfaces: Sendable {
  /// Every link name, with or without an address.
  public var names: Set<String>
  /// The networks of every address on every link (masked: 192.168.1.7/24 → 192.168.1.0/24).
  public var subnets: [IPNetwork]

  public init(names: Set<String>, subnets: [IPNetwork]) {
    self.names = names
    self.subnets = subnets
  }

  /// Reads the current namespace, or the one at `namespacePath` (on a dedicated thread) when given.
  public static func read(namespacePath: String?) throws -> HostInterfaces {
    if let namespacePath {
      return try NetworkNamespace.run(in: namespacePath) { try readCurrent() }
    }
    return try readCurrent()
  }

  public static func readCurrent() throws -> HostInterfaces {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else {
      throw NetworkError(.io, "getifaddrs: \(String(cString: strerror(errno)))")
    }
    defer { freeifaddrs(list) }
    var names = Set<String>()
    var subnets: [IPNetwork] = []
    var entry = list
    while let current = entry {
      defer { entry = current.pointee.ifa_next }
      names.insert(String(cString: current.pointee.ifa_name))
      guard let address = current.pointee.ifa_addr, let mask = current.pointee.ifa_netmask,
        let ip = ipAddress(address), let maskIP = ipAddress(mask)
      else { continue }
      let prefix = prefixLength(of: maskIP)
      if let network = try? IPNetwork(address: ip, prefixLength: prefix) { subnets.append(network.masked) }
    }
    return HostInterfaces(names: names, subnets: subnets)
  }

  private static func ipAddress(_ pointer: UnsafeMutablePointer<sockaddr>) -> IPAddress? {
    switch Int32(pointer.pointee.sa_family) {
    case AF_INET:
      return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
        .v4(IPv4Address(UInt32(bigEndian: v4.pointee.sin_addr.s_addr)))
      }
    case AF_INET6:
      return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
        var value: UInt128 = 0
        withUnsafeBytes(of: v6.pointee.sin6_addr) { bytes in
          for byte in bytes { value = value << 8 | UInt128(byte) }
        }
        return .v6(IPv6Address(value))
      }
    default:
      return nil
    }
  }

  private static func prefixLength(of mask: IPAddress) -> Int {
    switch mask {
    case .v4(let v4): return v4.value.leadingZeroBitCount == 0 ? (~v4.value).leadingZeroBitCount : 0
    case .v6(let v6): return v6.value.leadingZeroBitCount == 0 ? (~v6.value).leadingZeroBitCount : 0
    }
  }
}
