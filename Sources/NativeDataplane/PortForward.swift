import ContainerNetworkCore
import NetworkAddress
import NetworkNFTables

/// One published port as the firewall keeps it: one element of one of the four DNAT maps, from a host port (of one
/// host address, or of any) to the container's address and port. A range or a comma list of protocols is several.
struct PortForward: Hashable, Sendable, Codable {
  /// The host address the port is published on; nil for every address of the family.
  var hostIP: IPAddress?
  var `protocol`: String
  var hostPort: UInt16
  var containerIP: IPAddress
  var containerPort: UInt16

  enum CodingKeys: String, CodingKey {
    case hostIP = "host_ip"
    case `protocol`
    case hostPort = "host_port"
    case containerIP = "container_ip"
    case containerPort = "container_port"
  }

  static let protocolNumbers: [String: UInt8] = ["tcp": 6, "udp": 17, "sctp": 132]

  /// The map it belongs in: `pf4_any`, `pf4_ip`, `pf6_any` or `pf6_ip`.
  var map: String { (containerIP.isIPv6 ? "pf6" : "pf4") + (hostIP == nil ? "_any" : "_ip") }

  /// The map's key: `[host address .] protocol . host port`.
  var key: [SetElement.Field] {
    let number = Self.protocolNumbers[`protocol`] ?? 0
    return (hostIP.map { [.address($0)] } ?? []) + [.protocol(number), .port(hostPort)]
  }

  /// Which element of which map it is: two forwards of one slot cannot both be in the firewall.
  var slot: [UInt8] { Array(map.utf8) + [0] + element.key }

  var element: SetElement {
    SetElement(key: key, data: [.address(containerIP), .port(containerPort)])
  }

  /// The element in nft's syntax, for a whole-table reload.
  var nftElement: String {
    (hostIP.map { "\($0) . " } ?? "") + "\(`protocol`) . \(hostPort) : \(containerIP) . \(containerPort)"
  }

  /// How a user names it: `0.0.0.0:8080/tcp`, `[::1]:8080/tcp`.
  var hostDescription: String {
    let host = hostIP.map { $0.isIPv6 ? "[\($0)]" : "\($0)" } ?? (containerIP.isIPv6 ? "[::]" : "0.0.0.0")
    return "\(host):\(hostPort)/\(`protocol`)"
  }

  /// Every forward of `mappings` to a container whose first addresses are `ipv4` and `ipv6`, as netavark chooses
  /// them: an empty host IP publishes on both families the container has, `0.0.0.0` and `::` on one family, and an
  /// address on that address only (an error when the container has no address of its family).
  static func forwards(of mappings: [PortMapping], ipv4: IPAddress?, ipv6: IPAddress?) throws(NetworkError)
    -> [PortForward]
  {
    var forwards: [PortForward] = []
    for mapping in mappings {
      let targets: [(host: IPAddress?, container: IPAddress)]
      switch mapping.hostIP {
      case "":
        targets = [ipv4, ipv6].compactMap { $0.map { (nil, $0) } }
      case "0.0.0.0":
        targets = ipv4.map { [(nil, $0)] } ?? []
      case "::":
        targets = ipv6.map { [(nil, $0)] } ?? []
      default:
        guard let host = IPAddress(mapping.hostIP) else {
          throw NetworkError(.invalidArgument, "invalid host IP \(mapping.hostIP) of a port mapping")
        }
        guard let container = host.isIPv6 ? ipv6 : ipv4 else {
          throw NetworkError(
            .invalidArgument,
            "cannot publish port \(mapping.hostPort) on \(host): the container has no \(host.isIPv6 ? "IPv6" : "IPv4") address"
          )
        }
        targets = [(host, container)]
      }
      guard Int(mapping.hostPort) + mapping.portCount - 1 <= 65535,
        Int(mapping.containerPort) + mapping.portCount - 1 <= 65535, mapping.hostPort > 0, mapping.containerPort > 0
      else {
        throw NetworkError(
          .invalidArgument,
          "invalid port range \(mapping.hostPort)-\(Int(mapping.hostPort) + mapping.portCount - 1) to \(mapping.containerPort)"
        )
      }
      for name in mapping.protocols {
        guard protocolNumbers[name] != nil else {
          throw NetworkError(.invalidArgument, "unknown port protocol \(name): use tcp, udp or sctp")
        }
        for offset in 0..<UInt16(mapping.portCount) {
          for target in targets {
            forwards.append(
              PortForward(
                hostIP: target.host, protocol: name, hostPort: mapping.hostPort + offset,
                containerIP: target.container, containerPort: mapping.containerPort + offset))
          }
        }
      }
    }
    return forwards
  }
}

/// A container's published ports as its state file keeps them: the mappings and the addresses they forward to, so
/// that a range of thousands of ports stays one entry.
struct PublishedPorts: Hashable, Sendable, Codable {
  var mappings: [PortMapping]
  var ipv4: IPAddress?
  var ipv6: IPAddress?

  enum CodingKeys: String, CodingKey {
    case mappings = "port_mappings"
    case ipv4
    case ipv6
  }

  func forwards() throws(NetworkError) -> [PortForward] {
    try PortForward.forwards(of: mappings, ipv4: ipv4, ipv6: ipv6)
  }
}

extension PublishedPorts {
  /// Forwarding to the first IPv4 and the first IPv6 address of `addresses`, as netavark picks them.
  init(mappings: [PortMapping], addresses: [IPAddress]) {
    self.init(mappings: mappings, ipv4: addresses.first { !$0.isIPv6 }, ipv6: addresses.first { $0.isIPv6 })
  }
}
