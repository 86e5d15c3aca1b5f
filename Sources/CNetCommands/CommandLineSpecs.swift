import ContainerNetworkCore
import NetworkAddress

/// Podman's `--network NAME[:ip=IP,ip=IP,mac=MAC,alias=NAME,interface_name=IF]`.
public struct NetworkSpec: Hashable, Sendable {
  public var name: String
  public var options: PerNetworkOptions

  /// Parses one `--network` value; every error names the offending part.
  public static func parse(_ text: String) throws(NetworkError) -> NetworkSpec {
    let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    let name = String(parts[0])
    guard !name.isEmpty else { throw NetworkError(.invalidArgument, "network name missing in \"\(text)\"") }
    var options = PerNetworkOptions()
    if parts.count == 2 {
      for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
        let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard pair.count == 2, !pair[1].isEmpty else {
          throw NetworkError(.invalidArgument, "invalid network option \"\(item)\" in \"\(text)\": expected KEY=VALUE")
        }
        let value = String(pair[1])
        switch pair[0] {
        case "ip", "ip6":
          guard let ip = IPAddress(value) else {
            throw NetworkError(
              .invalidArgument, "invalid IP address \(NameValidation.displayed(value)) for network \(name)")
          }
          options.staticIPs.append(ip)
        case "mac":
          guard let mac = MACAddress(value) else {
            throw NetworkError(
              .invalidArgument, "invalid MAC address \(NameValidation.displayed(value)) for network \(name)")
          }
          options.staticMAC = mac
        case "alias":
          options.aliases.append(value)
        case "interface_name":
          options.interfaceName = value
        default:
          throw NetworkError(
            .invalidArgument,
            "unknown network option \(NameValidation.displayed(String(pair[0]))): use ip, mac, alias or interface_name")
        }
      }
    }
    return NetworkSpec(name: name, options: options)
  }
}

/// Podman's `--publish [[HOST_IP:]HOST_PORT[-END]:]CONTAINER_PORT[-END][/tcp|udp|sctp]`.
public enum PublishSpec {
  /// Parses one `--publish` value. An omitted host port takes the container port's number.
  public static func parse(_ text: String) throws(NetworkError) -> PortMapping {
    func fail(_ why: String) -> NetworkError {
      NetworkError(.invalidArgument, "invalid publish spec \(NameValidation.displayed(text)): \(why)")
    }
    var rest = Substring(text)
    var proto = "tcp"
    if let slash = rest.lastIndex(of: "/") {
      proto = String(rest[rest.index(after: slash)...])
      rest = rest[..<slash]
      guard !proto.isEmpty else { throw fail("empty protocol") }
      for item in proto.split(separator: ",", omittingEmptySubsequences: false)
      where !SetupValidation.supportedProtocols.contains(String(item)) {
        throw fail("unknown protocol \(NameValidation.displayed(String(item))): use tcp, udp or sctp")
      }
    }
    var hostIP = ""
    // A bracketed IPv6 host address: [::1]:8080:80
    if rest.hasPrefix("[") {
      guard let close = rest.firstIndex(of: "]") else { throw fail("unclosed [ in host IP") }
      hostIP = String(rest[rest.index(after: rest.startIndex)..<close])
      rest = rest[rest.index(after: close)...]
      guard rest.hasPrefix(":") else { throw fail("expected : after the host IP") }
      rest = rest.dropFirst()
      guard IPAddress(hostIP)?.isIPv6 == true else { throw fail("invalid IPv6 host address \(hostIP)") }
    }
    let fields = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    let hostPortText: String?
    let containerText: String
    switch (fields.count, hostIP.isEmpty) {
    case (1, true):
      hostPortText = nil
      containerText = fields[0]
    case (2, _):
      hostPortText = fields[0].isEmpty ? nil : fields[0]
      containerText = fields[1]
    case (3, true):
      hostIP = fields[0]
      guard IPAddress(hostIP) != nil else { throw fail("invalid host IP \(NameValidation.displayed(hostIP))") }
      hostPortText = fields[1].isEmpty ? nil : fields[1]
      containerText = fields[2]
    default:
      throw fail("expected [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL]")
    }
    let container = try portRange(containerText, role: "container", fail: fail)
    var host = container
    if let hostPortText {
      host = try portRange(hostPortText, role: "host", fail: fail)
      if host.count != container.count {
        if host.count == 1 {
          host = (host.start, container.count)
        } else {
          throw fail("host port range \(hostPortText) and container port range \(containerText) differ in length")
        }
      }
    }
    guard Int(host.start) + Int(container.count) - 1 <= 65_535 else { throw fail("host port range exceeds 65535") }
    return PortMapping(
      hostIP: hostIP, containerPort: container.start, hostPort: host.start, range: container.count, protocol: proto)
  }

  private static func portRange(
    _ text: String, role: String, fail: (String) -> NetworkError
  ) throws(NetworkError) -> (start: UInt16, count: UInt16) {
    let bounds = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
    guard let start = port(bounds[0]) else {
      throw fail("invalid \(role) port \(NameValidation.displayed(String(bounds[0])))")
    }
    guard bounds.count == 2 else { return (start, 1) }
    guard let end = port(bounds[1]) else {
      throw fail("invalid \(role) port \(NameValidation.displayed(String(bounds[1])))")
    }
    guard end >= start else { throw fail("\(role) port range \(text) ends before it starts") }
    return (start, end - start + 1)
  }

  private static func port(_ text: Substring) -> UInt16? {
    guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = UInt16(text),
      value > 0
    else { return nil }
    return value
  }
}
