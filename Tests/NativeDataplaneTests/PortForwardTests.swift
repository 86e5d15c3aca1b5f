import ContainerNetworkCore
import Foundation
import NetworkAddress
import Testing

@testable import NativeDataplane
@testable import NetworkNFTables

/// Published ports as the native firewall expands them: netavark's host-IP rules, ranges, comma lists, and the
/// transactions a large range is cut into.
@Suite struct PortForwardTests {
  static let v4 = IPAddress("10.88.0.2")!
  static let v6 = IPAddress("fd00::2")!

  /// A mapping, the container's families, and the forwards as `map host:port/proto -> container port`.
  @Test(arguments: [
    (
      PortMapping(containerPort: 80, hostPort: 8080), true, true,
      ["pf4_any 0.0.0.0:8080/tcp -> 80", "pf6_any [::]:8080/tcp -> 80"]
    ),
    (PortMapping(containerPort: 80, hostPort: 8080), true, false, ["pf4_any 0.0.0.0:8080/tcp -> 80"]),
    (PortMapping(hostIP: "0.0.0.0", containerPort: 80, hostPort: 8080), true, true, ["pf4_any 0.0.0.0:8080/tcp -> 80"]),
    (PortMapping(hostIP: "::", containerPort: 80, hostPort: 8080), true, true, ["pf6_any [::]:8080/tcp -> 80"]),
    (PortMapping(hostIP: "::", containerPort: 80, hostPort: 8080), true, false, []),
    (
      PortMapping(hostIP: "127.0.0.1", containerPort: 80, hostPort: 8080), true, true,
      ["pf4_ip 127.0.0.1:8080/tcp -> 80"]
    ),
    (
      PortMapping(hostIP: "2001:db8::1", containerPort: 80, hostPort: 8080), true, true,
      ["pf6_ip [2001:db8::1]:8080/tcp -> 80"]
    ),
    (
      PortMapping(containerPort: 53, hostPort: 5353, range: 2, protocol: "tcp, udp"), true, false,
      [
        "pf4_any 0.0.0.0:5353/tcp -> 53", "pf4_any 0.0.0.0:5354/tcp -> 54", "pf4_any 0.0.0.0:5353/udp -> 53",
        "pf4_any 0.0.0.0:5354/udp -> 54",
      ]
    ),
    (PortMapping(containerPort: 9, hostPort: 9, protocol: "sctp"), false, true, ["pf6_any [::]:9/sctp -> 9"]),
  ])
  func hostIPAndFamiliesChooseTheMaps(_ mapping: PortMapping, hasV4: Bool, hasV6: Bool, expected: [String]) throws {
    let forwards = try PortForward.forwards(
      of: [mapping], ipv4: hasV4 ? Self.v4 : nil, ipv6: hasV6 ? Self.v6 : nil)
    #expect(forwards.map { "\($0.map) \($0.hostDescription) -> \($0.containerPort)" } == expected)
    for forward in forwards {
      #expect(forward.containerIP == (forward.containerIP.isIPv6 ? Self.v6 : Self.v4))
    }
  }

  @Test(arguments: [
    (PortMapping(hostIP: "10.0.0.1", containerPort: 80, hostPort: 8080), "the container has no IPv4 address"),
    (PortMapping(hostIP: "nonsense", containerPort: 80, hostPort: 8080), "invalid host IP nonsense"),
    (PortMapping(containerPort: 80, hostPort: 65535, range: 2), "invalid port range 65535-65536"),
    (PortMapping(containerPort: 80, hostPort: 8080, protocol: "icmp"), "unknown port protocol icmp"),
  ])
  func badMappingsAreClearErrors(_ mapping: PortMapping, message: String) {
    #expect {
      _ = try PortForward.forwards(of: [mapping], ipv4: nil, ipv6: Self.v6)
    } throws: { error in
      "\(error)".contains(message)
    }
  }

  /// The key and data in the maps' register layout: `[address .] protocol . port : address . port`.
  @Test func elementsHaveTheMapsLayout() throws {
    let forward = try #require(
      try PortForward.forwards(
        of: [PortMapping(hostIP: "192.0.2.1", containerPort: 80, hostPort: 8080)], ipv4: Self.v4, ipv6: nil
      ).first)
    #expect(
      forward.element
        == SetElement(
          key: [.address(IPAddress("192.0.2.1")!), .protocol(6), .port(8080)], data: [.address(Self.v4), .port(80)]))
    #expect(forward.nftElement == "192.0.2.1 . tcp . 8080 : 10.88.0.2 . 80")
  }

  /// Every port of the range, in messages that a nested attribute can hold and transactions a datagram can carry.
  @Test func theWholeRangeIsCutIntoMessagesAndTransactionsThatFit() throws {
    let forwards = try PortForward.forwards(
      of: [PortMapping(containerPort: 1, hostPort: 1, range: 65535)], ipv4: nil, ipv6: Self.v6)
    let transactions = NativeFirewall.transactions(.add, forwards)
    #expect(transactions.flatMap { $0 }.map(\.elements.count).reduce(0, +) == 65535)
    for transaction in transactions {
      #expect(transaction.count <= NativeFirewall.messagesPerTransaction)
      #expect(transaction.allSatisfy { $0.elements.count <= NativeFirewall.elementsPerMessage })
      let bytes = SetElementBatch.transaction(transaction, sequence: 1)
      #expect(bytes.count < 208 * 1024)
    }
  }

  /// The state keeps the mappings, not the forwards, and gives the same forwards back.
  @Test func publishedPortsRoundTripThroughTheStateFile() throws {
    let published = PublishedPorts(
      mappings: [PortMapping(containerPort: 1, hostPort: 1, range: 1000)], ipv4: Self.v4, ipv6: Self.v6)
    let decoded = try JSONDecoder().decode(PublishedPorts.self, from: try JSONEncoder().encode(published))
    #expect(decoded == published)
    #expect(try decoded.forwards().count == 2000)
  }
}

/// The firewall's `nft` runs, without root: what a user reads when it is missing.
@Suite struct NativeFirewallProgramTests {
  @Test func aMissingNftIsOneLineNamingIt() async {
    let firewall = NativeFirewall(hostNamespacePath: nil, nftPath: "/nonexistent/nft")
    await #expect {
      try await firewall.run(["add table inet cnet"], purpose: "setting up the firewall of network web")
    } throws: { error in
      let text = "\(error)"
      return text.contains("setting up the firewall of network web: cannot run /nonexistent/nft")
        && text.contains("install nftables") && !text.contains("\n")
    }
  }
}
