import ContainerNetworkCore
import Foundation
import NetavarkBackend
import NetworkAddress
import Testing

@testable import NativeDataplane

/// aardvark-dns's network files against what netavark 1.4 wrote and aardvark-dns 1.4's own test files, and the DNS
/// fields of the status against netavark 1.4's answers (fixtures: Fixtures/README.md). No root needed.
struct AardvarkConfigFileTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

  static func text(_ path: String) throws -> String {
    try String(contentsOf: fixtures.appendingPathComponent(path), encoding: .utf8)
  }

  static func request(_ capture: String) throws -> NetavarkRequest {
    try JSONDecoder().decode(
      NetavarkRequest.self, from: Data(try text("netavark-1.4/\(capture).setup.stdin.json").utf8))
  }

  /// netavark's file for a container with the alias `web`: written back byte for byte, and read as aardvark-dns
  /// reads it (an empty IPv6 field between two spaces).
  @Test func netavarksOwnFileReadsAndWritesBackByteForByte() throws {
    let original = try Self.text("netavark-1.4/aardvark-dns/pbc-a")
    let file = try AardvarkNetworkFile(parsing: original, file: "pbc-a")
    #expect(file.bindAddresses == [IPAddress("10.231.20.1")!])
    #expect(file.networkDNSServers == [])
    #expect(
      file.entries == [
        AardvarkEntry(
          containerID: "399ce84a7d80b29d214a3ddd73b18ef5ea9a3fc63a99ed1258ce8cc0640dd3cb",
          addresses: [IPAddress("10.231.20.19")!], names: ["pbc-keep", "web", "399ce84a7d80"])
      ])
    #expect(file.text == original)
  }

  /// aardvark-dns's test files with network servers, per-container servers and several addresses of each family.
  @Test(arguments: ["container-dns-servers", "network-dns-servers", "dual-stack"])
  func aardvarksTestFilesReadAndWriteBack(_ name: String) throws {
    let original = try Self.text("aardvark-dns-1.4/\(name)")
    let file = try AardvarkNetworkFile(parsing: original, file: name)
    #expect(file.text == original)
    #expect(file.entries.count == original.split(separator: "\n").count - 1)
  }

  @Test func serversAreTheSecondFieldOfTheFirstLineAndTheFifthOfAContainersLine() throws {
    let file = try AardvarkNetworkFile(parsing: try Self.text("aardvark-dns-1.4/network-dns-servers"), file: "podman")
    #expect(file.networkDNSServers == [IPAddress("127.0.0.1")!, IPAddress("::2")!])
    let hello = try #require(file.entries.first { $0.names == ["HelloWorld"] })
    #expect(hello.dnsServers == ["3.3.3.3", "1.1.1.1", "::1"].map { IPAddress($0)! })
  }

  /// What a setup writes for Podman's requests is what netavark 1.4 wrote: the container's name, then its aliases
  /// (Podman's short ID among them), IPv4 and IPv6 fields, and a first line of the gateways.
  @Test(
    arguments: [
      (
        "02-static-ip-mac-alias", "10.231.20.1\n",
        "333d61e553090e1afe0711e1b2b067f418f97d8cbff06544463032d603478e98 10.231.20.50  pbc-02-static-ip-mac-alias,web,333d61e55309"
      ),
      (
        "04-dualstack", "10.231.21.1,fd42:21::1\n",
        "ca0f0b6e562623070107519767b6679099ec61b2999d4badaee1d4e16f9615a9 10.231.21.6 fd42:21::6 pbc-04-dualstack,ca0f0b6e5626"
      ),
    ])
  func setupWritesWhatNetavarkWrote(capture: String, header: String, line: String) throws {
    let entries = try AardvarkDNS.entries(for: try Self.request(capture))
    let (network, entry) = try #require(entries.first)
    #expect(entries.count == 1)
    #expect(entry.line == line)
    let file = AardvarkNetworkFile(bindAddresses: AardvarkDNS.gateways(of: network)).adding(entry)
    #expect(file.text == header + line + "\n")
  }

  /// The DNS fields of every captured answer: the gateways and `dns.podman` on networks with DNS, internal too.
  @Test(arguments: ["01-single", "02-static-ip-mac-alias", "04-dualstack", "05-two-networks", "06-internal"])
  func statusDNSFieldsAreNetavarks(_ capture: String) throws {
    let request = try Self.request(capture)
    let answer = try JSONDecoder().decode(
      [String: StatusBlock].self, from: Data(try Self.text("netavark-1.4/\(capture).setup.stdout.json").utf8))
    for (name, expected) in answer {
      let network = try #require(request.networkInfo[name])
      let dns = AardvarkDNS.statusDNS(of: network, request: request)
      #expect(dns.servers == expected.dnsServerIPs, "\(capture) \(name)")
      #expect(dns.domains == expected.dnsSearchDomains, "\(capture) \(name)")
    }
  }

  @Test func aContainerLineIsReplacedAndRemovedByItsWholeID() throws {
    var file = AardvarkNetworkFile(bindAddresses: [IPAddress("10.1.0.1")!])
    file = file.adding(AardvarkEntry(containerID: "abc", addresses: [IPAddress("10.1.0.2")!], names: ["a"]))
    file = file.adding(AardvarkEntry(containerID: "abcdef", addresses: [IPAddress("10.1.0.3")!], names: ["b"]))
    file = file.adding(AardvarkEntry(containerID: "abc", addresses: [IPAddress("10.1.0.4")!], names: ["a2"]))
    #expect(file.text == "10.1.0.1\nabcdef 10.1.0.3  b\nabc 10.1.0.4  a2\n")
    // netavark 1.4 removes every line that contains the ID; a longer ID that starts with it stays here.
    #expect(file.removing(containerID: "abc").text == "10.1.0.1\nabcdef 10.1.0.3  b\n")
  }

  /// A line aardvark-dns would refuse (and with it the whole file) is dropped, so the next write repairs the file.
  @Test func linesAardvarkWouldRefuseAreDropped() throws {
    let file = try AardvarkNetworkFile(
      parsing: "10.1.0.1\ngood 10.1.0.2  a\nshort 10.1.0.3\nbad 10.1.0.x  c\nv6in4 fd00::1  d\n", file: "n")
    #expect(file.text == "10.1.0.1\ngood 10.1.0.2  a\n")
    #expect(throws: NetworkError.self) { try AardvarkNetworkFile(parsing: "not-an-address\n", file: "n") }
  }

  /// The format has no quoting: a name that would split a line is refused before anything is made.
  @Test(arguments: ["two words", "a,b", "line\nbreak"])
  func namesTheFormatCannotHoldAreRefused(_ alias: String) throws {
    var request = try Self.request("01-single")
    request.options.networks[0].options.aliases = [alias]
    #expect(throws: NetworkError.self) { try AardvarkDNS.entries(for: request) }
  }
}
