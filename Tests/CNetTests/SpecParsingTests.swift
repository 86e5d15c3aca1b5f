import ContainerNetworkCore
import NetworkAddress
import Testing

@testable import CNetCommands

/// `--network NAME[:ip=…,mac=…,alias=…,interface_name=…]` and `-p [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTO]`.
@Suite struct SpecParsingTests {
  struct NetworkCase: Sendable, CustomTestStringConvertible {
    var text: String
    var name: String
    var ips: [String] = []
    var mac: String?
    var aliases: [String] = []
    var interfaceName = ""
    var testDescription: String { text }
  }

  static let validNetworks: [NetworkCase] = [
    NetworkCase(text: "web", name: "web"),
    NetworkCase(text: "web:ip=10.89.0.5", name: "web", ips: ["10.89.0.5"]),
    NetworkCase(text: "web:ip=10.89.0.5,ip=fd00::5", name: "web", ips: ["10.89.0.5", "fd00::5"]),
    NetworkCase(text: "web:ip6=fd00::5", name: "web", ips: ["fd00::5"]),
    NetworkCase(text: "web:mac=02:42:ac:11:00:02", name: "web", mac: "02:42:ac:11:00:02"),
    NetworkCase(text: "web:alias=db,alias=cache", name: "web", aliases: ["db", "cache"]),
    NetworkCase(text: "web:interface_name=eth7", name: "web", interfaceName: "eth7"),
    NetworkCase(
      text: "my-net.1:ip=10.1.2.3,mac=02:00:00:00:00:01,alias=a,interface_name=net0", name: "my-net.1",
      ips: ["10.1.2.3"], mac: "02:00:00:00:00:01", aliases: ["a"], interfaceName: "net0"),
  ]

  @Test(arguments: validNetworks)
  func validNetworkSpec(_ testCase: NetworkCase) throws {
    let spec = try NetworkSpec.parse(testCase.text)
    #expect(spec.name == testCase.name)
    #expect(spec.options.staticIPs == testCase.ips.map { IPAddress($0)! })
    #expect(spec.options.staticMAC == testCase.mac.flatMap { MACAddress($0) })
    #expect(spec.options.aliases == testCase.aliases)
    #expect(spec.options.interfaceName == testCase.interfaceName)
  }

  static let invalidNetworks: [(String, String)] = [
    ("", "network name missing"),
    (":ip=10.0.0.1", "network name missing"),
    ("web:", "invalid network option"),
    ("web:ip", "expected KEY=VALUE"),
    ("web:ip=", "expected KEY=VALUE"),
    ("web:ip=300.1.1.1", "invalid IP address 300.1.1.1 for network web"),
    ("web:ip=10.0.0.1/24", "invalid IP address"),
    ("web:mac=zz:zz", "invalid MAC address zz:zz for network web"),
    ("web:color=blue", "unknown network option color"),
    ("web:ip=10.0.0.1,,alias=x", "invalid network option"),
  ]

  @Test(arguments: invalidNetworks)
  func invalidNetworkSpec(_ text: String, _ fragment: String) {
    #expect {
      try NetworkSpec.parse(text)
    } throws: { error in
      guard let error = error as? NetworkError else { return false }
      return error.code == .invalidArgument && error.message.contains(fragment)
    }
  }

  struct PublishCase: Sendable, CustomTestStringConvertible {
    var text: String
    var mapping: PortMapping
    var testDescription: String { text }
  }

  static let validPublish: [PublishCase] = [
    PublishCase(text: "80", mapping: PortMapping(containerPort: 80, hostPort: 80)),
    PublishCase(text: "8080:80", mapping: PortMapping(containerPort: 80, hostPort: 8080)),
    PublishCase(text: ":80", mapping: PortMapping(containerPort: 80, hostPort: 80)),
    PublishCase(text: "8080:80/udp", mapping: PortMapping(containerPort: 80, hostPort: 8080, protocol: "udp")),
    PublishCase(text: "53/tcp,udp", mapping: PortMapping(containerPort: 53, hostPort: 53, protocol: "tcp,udp")),
    PublishCase(text: "9/sctp", mapping: PortMapping(containerPort: 9, hostPort: 9, protocol: "sctp")),
    PublishCase(
      text: "127.0.0.1:8080:80", mapping: PortMapping(hostIP: "127.0.0.1", containerPort: 80, hostPort: 8080)),
    PublishCase(text: "127.0.0.1::80", mapping: PortMapping(hostIP: "127.0.0.1", containerPort: 80, hostPort: 80)),
    PublishCase(text: "[::1]:8080:80", mapping: PortMapping(hostIP: "::1", containerPort: 80, hostPort: 8080)),
    PublishCase(
      text: "[fd00::1]:53:53/udp",
      mapping: PortMapping(hostIP: "fd00::1", containerPort: 53, hostPort: 53, protocol: "udp")),
    PublishCase(text: "8000-8002:80-82", mapping: PortMapping(containerPort: 80, hostPort: 8000, range: 3)),
    PublishCase(text: "8000:80-82", mapping: PortMapping(containerPort: 80, hostPort: 8000, range: 3)),
    PublishCase(text: "80-82", mapping: PortMapping(containerPort: 80, hostPort: 80, range: 3)),
    PublishCase(text: "65535:1", mapping: PortMapping(containerPort: 1, hostPort: 65535)),
  ]

  @Test(arguments: validPublish)
  func validPublishSpec(_ testCase: PublishCase) throws {
    #expect(try PublishSpec.parse(testCase.text) == testCase.mapping)
  }

  static let invalidPublish: [(String, String)] = [
    ("", "invalid container port \"\""),
    ("0", "invalid container port 0"),
    ("65536", "invalid container port 65536"),
    ("http", "invalid container port http"),
    ("+80", "invalid container port +80"),
    ("80/", "empty protocol"),
    ("80/icmp", "unknown protocol icmp"),
    ("80/tcp,icmp", "unknown protocol icmp"),
    ("x:80", "invalid host port x"),
    ("82-80", "ends before it starts"),
    ("8000-8001:80-82", "differ in length"),
    ("65535:80-81", "exceeds 65535"),
    ("1.2.3:80:80", "invalid host IP 1.2.3"),
    ("a:b:c:d", "expected [[HOST_IP:]HOST_PORT:]CONTAINER_PORT"),
    ("[::1:80:80", "unclosed ["),
    ("[::1]80:80", "expected : after the host IP"),
    ("[10.0.0.1]:80:80", "invalid IPv6 host address"),
  ]

  @Test(arguments: invalidPublish)
  func invalidPublishSpec(_ text: String, _ fragment: String) {
    #expect {
      try PublishSpec.parse(text)
    } throws: { error in
      guard let error = error as? NetworkError else { return false }
      return error.code == .invalidArgument && error.message.hasPrefix("invalid publish spec")
        && error.message.contains(fragment)
    }
  }
}
