import ContainerNetworkCore
import Foundation
import Logging
import NetworkAddress
import OrderedJSON
import TestSupport
import Testing

@testable import NetavarkBackend

/// Fixtures beside the sources: the files Podman 4.3's netavark backend wrote, and what it piped into netavark.
enum Fixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

  static func bytes(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: directory.appendingPathComponent(name)))
  }

  static let networkFiles = [
    "pb-auto", "pb-dual", "pb-internal", "pb-isolate", "pb-label", "pb-macvlan-static", "pb-mtu", "pb-nodns",
    "pb-noipam", "pb-subnet", "pb-v6", "pb-v6only", "pb-vlan",
  ]
}

@Suite struct NetworkFileTests {
  @Test("a network Podman wrote is written back byte for byte", arguments: Fixtures.networkFiles)
  func podmanFilesRoundTrip(name: String) throws {
    let original = try Fixtures.bytes("\(name).json")
    let network = try JSONDecoder().decode(Network.self, from: Data(original))
    #expect(network.name == name)
    let written = try JSONNetworkDirectory.fileContents(of: network)
    #expect(String(decoding: written, as: UTF8.self) == String(decoding: original, as: UTF8.self))
  }

  @Test(
    "the request Podman piped into netavark is encoded byte for byte",
    arguments: [
      "setup-static-ip-mac-alias.stdin", "setup-portmap.stdin",
    ])
  func podmanRequestRoundTrip(name: String) throws {
    let original = try Fixtures.bytes(name)
    let request = try JSONDecoder().decode(NetavarkRequest.self, from: Data(original))
    #expect(!request.options.networks.isEmpty && request.networkInfo.count == request.options.networks.count)
    let text = String(decoding: original, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let encoded = String(decoding: try request.encodedJSON(), as: UTF8.self)
    #expect(encoded == text, "\(encoded)")
  }

  @Test func loadingSkipsBadFilesWithAWarningNamingThem() async throws {
    try await withTemporaryDirectory { dir in
      let good = try Fixtures.bytes("pb-auto.json")
      try Data(good).write(to: URL(fileURLWithPath: dir.appending("pb-auto.json")))
      // The name inside does not match the file's.
      try Data(good).write(to: URL(fileURLWithPath: dir.appending("renamed.json")))
      let text = String(decoding: good, as: UTF8.self)
      let badID = text.replacingOccurrences(of: "\"pb-auto\"", with: "\"bad-id\"")
        .replacingOccurrences(of: "d581a26eaf8a09d6", with: "XYZ")
      try badID.write(toFile: dir.appending("bad-id.json"), atomically: true, encoding: .utf8)
      let badGateway = text.replacingOccurrences(of: "\"pb-auto\"", with: "\"bad-gw\"")
        .replacingOccurrences(of: "10.89.0.1\"", with: "10.90.0.1\"")
      try badGateway.write(toFile: dir.appending("bad-gw.json"), atomically: true, encoding: .utf8)
      try "{\"name\": \"broken\",".write(toFile: dir.appending("broken.json"), atomically: true, encoding: .utf8)
      // Upper-case hex digits are hex digits: Podman lists such a network, and so do we.
      let upper = text.replacingOccurrences(of: "\"pb-auto\"", with: "\"upper\"")
        .replacingOccurrences(of: "d581a26eaf8a09d6", with: "D581A26EAF8A09D6")
      try upper.write(toFile: dir.appending("upper.json"), atomically: true, encoding: .utf8)
      let log = LogCapture()
      let snapshot = JSONNetworkDirectory(path: dir.path, logger: log.logger).scan()
      #expect(snapshot.networks.map(\.name) == ["pb-auto", "upper"])
      let warnings = log.warnings.joined(separator: "\n")
      #expect(warnings.contains("renamed.json: the network name pb-auto does not match the file name"))
      #expect(warnings.contains("bad-id.json: invalid network ID"))
      #expect(warnings.contains("bad-gw.json: gateway 10.90.0.1 is not in subnet 10.89.0.0/24"))
      #expect(warnings.contains("broken.json: malformed JSON"))
    }
  }
}

/// A setup or teardown names its networks: each is read from its own file, not with the whole directory, and read
/// again when that file changes.
@Suite struct NetworkLookupByNameTests {
  @Test func aNamedNetworkIsReadFromItsOwnFileAndAgainWhenItChanges() async throws {
    try await withTemporaryDirectory { dir in
      let text = String(decoding: try Fixtures.bytes("pb-auto.json"), as: UTF8.self)
      try text.write(toFile: dir.appending("pb-auto.json"), atomically: true, encoding: .utf8)
      // A broken neighbour: a scan of the directory would warn about it.
      try "{\"name\": \"broken\",".write(toFile: dir.appending("broken.json"), atomically: true, encoding: .utf8)
      let log = LogCapture()
      let backend = NetavarkNetworkBackend(
        configuration: NetavarkBackendConfiguration(
          configDirectory: dir.path, runDirectory: dir.appending("run"), logger: log.logger))
      #expect(try await backend.lookup("pb-auto").subnets.map(\.subnet.description) == ["10.89.0.0/24"])
      #expect(log.warnings == [], "the lookup read other files: \(log.warnings)")

      // Rewritten (a rename, as every writer does): read again.
      let changed = text.replacingOccurrences(of: "10.89.0.", with: "10.89.7.")
      try changed.write(toFile: dir.appending("pb-auto.json"), atomically: true, encoding: .utf8)
      #expect(try await backend.lookup("pb-auto").subnets.map(\.subnet.description) == ["10.89.7.0/24"])

      // An ID, or a name without a valid file of its own, goes through the directory.
      let id = try await backend.lookup("pb-auto").id
      #expect(try await backend.lookup(String(id.prefix(12))).name == "pb-auto")
      #expect(log.warnings.contains { $0.contains("broken.json: malformed JSON") })
      await #expect(throws: NetworkError.self) { try await backend.lookup("broken") }

      unlink(dir.appending("pb-auto.json"))
      await #expect(throws: NetworkError.self) { try await backend.lookup("pb-auto") }
      #expect(try await backend.lookup("podman").id == NetavarkBackendConfiguration.defaultNetworkID)
    }
  }
}
