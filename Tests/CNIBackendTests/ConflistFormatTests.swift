import CNIRuntime
import ContainerNetworkCore
import Foundation
import NetworkAddress
import OrderedJSON
import Testing

@testable import CNIBackend

/// The files we write are the files Podman writes, and we read Podman's.
@Suite struct ConflistFormatTests {
  static let referenceNames: [String] = {
    let directory = BackendFixtures.podmanReference.appendingPathComponent("files")
    return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
      .filter { $0.hasSuffix(".conflist") }.sorted()
  }()

  /// Reading a Podman file and writing the network back gives the same bytes.
  @Test func podmanFilesRoundTripByteForByte() throws {
    guard !Self.referenceNames.isEmpty else {
      print("skipped: Podman reference data not found at \(BackendFixtures.podmanReference.path)")
      return
    }
    for name in Self.referenceNames {
      let bytes = try Array(Data(contentsOf: BackendFixtures.podmanReference.appendingPathComponent("files/\(name)")))
      let network = try PodmanConflist.network(from: JSONValue.parse(bytes), created: nil)
      let written = PodmanConflist.fileContents(for: network, dnsPluginAvailable: true)
      #expect(String(decoding: written, as: UTF8.self) == String(decoding: bytes, as: UTF8.self), "\(name)")
    }
  }

  /// What we read from Podman's file equals what `podman network inspect` printed, field for field.
  @Test func podmanFilesReadLikePodmanInspects() throws {
    guard !Self.referenceNames.isEmpty else { return }
    for name in Self.referenceNames {
      let base = String(name.dropLast(".conflist".count))
      let bytes = try Array(Data(contentsOf: BackendFixtures.podmanReference.appendingPathComponent("files/\(name)")))
      let ours = try PodmanConflist.network(from: JSONValue.parse(bytes), created: nil)
      let inspected = try JSONDecoder().decode(
        [Network].self,
        from: Data(contentsOf: BackendFixtures.podmanReference.appendingPathComponent("inspect/\(base).json")))
      var theirs = try #require(inspected.first)
      theirs.created = nil
      #expect(ours == theirs, "\(name)")
    }
  }

  @Test func goStyleEscaping() {
    let value: JSONValue = ["a<b": "x&y>z", "nl": "1\n2", "u": "\u{2028}é"]
    let text = String(decoding: GoJSONFormat.indented(value, indent: "  "), as: UTF8.self)
    #expect(text == "{\n  \"a\\u003cb\": \"x\\u0026y\\u003ez\",\n  \"nl\": \"1\\n2\",\n  \"u\": \"\\u2028é\"\n}")
    #expect(
      String(decoding: GoJSONFormat.indented(["e": [], "o": [:]], indent: " "), as: UTF8.self)
        == "{\n \"e\": [],\n \"o\": {}\n}")
  }
}
