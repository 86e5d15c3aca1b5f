import CNIRuntime
import ContainerNetworkCore
import Foundation
import NetworkAddress
import OrderedJSON
import TestSupport
import Testing

@testable import CNIBackend

/// The index a new process reads instead of every `.conflist`: exact round trips, damage tolerated, and trust only
/// while each file's stamp is unchanged.
@Suite struct NetworkIndexTests {
  static let full = Network(
    name: "full", id: NetworkID.of(name: "full"), driver: "bridge", networkInterface: "cni-podman3",
    created: Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789),
    subnets: [
      Subnet(
        subnet: IPNetwork("10.89.3.0/24")!, gateway: IPAddress("10.89.3.1"),
        leaseRange: LeaseRange(startIP: IPAddress("10.89.3.10"), endIP: nil)),
      Subnet(subnet: IPNetwork("fd12:3456:789a:1::/64")!),
    ],
    routes: [
      Route(destination: IPNetwork("0.0.0.0/0")!, gateway: IPAddress("10.89.3.1")!, metric: 100),
      Route(destination: IPNetwork("fd00::/8")!, gateway: IPAddress("fd12:3456:789a:1::1")!),
    ],
    ipv6Enabled: true, internal: true, dnsEnabled: true, networkDNSServers: ["1.1.1.1", "fd00::53"],
    labels: ["app": "web", "ünïcode": "välue", "empty": ""], options: ["mtu": "1450", "isolate": "true"],
    ipamOptions: ["driver": "host-local"])

  static func stamp(_ seed: Int) -> ConfigDirectory.FileStamp {
    ConfigDirectory.FileStamp(
      seconds: 1_700_000_000 + seed, nanoseconds: 999_999_999, changeSeconds: -seed, changeNanoseconds: seed,
      size: Int64(seed) << 40, inode: UInt64.max - UInt64(seed))
  }

  static let entries: [NetworkIndex.Entry] = [
    ("10-full.conflist", stamp(1), .network(StoredNetwork(network: full, path: "/elsewhere", configList: nil))),
    (
      "20-bare.conflist", stamp(2),
      .network(StoredNetwork(network: Network(name: "bare", id: "x", driver: "ptp"), path: nil, configList: nil))
    ),
    ("30-broken.conflist", stamp(3), .skipped("invalid JSON: unexpected end of input at byte 12")),
  ]

  @Test func roundTripsEveryField() throws {
    let decoded = try #require(
      NetworkIndex.decode(
        NetworkIndex.encode(Self.entries, directory: "/etc/cni/net.d"), directory: "/etc/cni/net.d"))
    #expect(decoded.map(\.name) == Self.entries.map(\.name))
    #expect(decoded.map(\.stamp) == Self.entries.map(\.stamp))
    guard case .network(let full) = decoded[0].result, case .network(let bare) = decoded[1].result,
      case .skipped(let reason) = decoded[2].result
    else {
      Issue.record("wrong kinds: \(decoded.map(\.result))")
      return
    }
    #expect(full.network == Self.full)
    #expect(full.path == "/etc/cni/net.d/10-full.conflist")
    #expect(full.configList == nil)
    #expect(bare.network == Network(name: "bare", id: "x", driver: "ptp"))
    #expect(reason == "invalid JSON: unexpected end of input at byte 12")
    #expect(NetworkIndex.decode(NetworkIndex.encode([], directory: "/d"), directory: "/d")?.isEmpty == true)
    // An index is never taken for another directory's.
    #expect(NetworkIndex.decode(NetworkIndex.encode(Self.entries, directory: "/a"), directory: "/b") == nil)
  }

  /// Every truncation and every random damage is refused (the header is checked field by field, each entry by its
  /// checksum), and none of it crashes.
  @Test func damagedIndexesAreRefused() {
    let bytes = NetworkIndex.encode(Self.entries, directory: "/d")
    #expect(NetworkIndex.decode(bytes, directory: "/d")?.count == Self.entries.count)
    for length in 0..<bytes.count {
      #expect(NetworkIndex.decode(Array(bytes.prefix(length)), directory: "/d") == nil, "prefix \(length)")
    }
    #expect(NetworkIndex.decode(bytes + [0], directory: "/d") == nil)
    var random = SeededGenerator(seed: 0x1de8)
    for _ in 0..<3000 {
      var damaged = bytes
      var places: [Int] = []
      for _ in 0..<Int.random(in: 1...4, using: &random) {
        let place = Int.random(in: 0..<damaged.count, using: &random)
        damaged[place] ^= UInt8.random(in: 1...255, using: &random)
        places.append(place)
      }
      // Two flips of one byte may cancel out; only a changed index must be refused.
      guard damaged != bytes else { continue }
      #expect(NetworkIndex.decode(damaged, directory: "/d") == nil, "damaged at \(places)")
    }
  }

  @Test(arguments: [(0.0, true), (0.049, true), (0.051, false), (5.0, false), (-1.0, true)])
  func aStampIsTrustedOnlyOnceItIsOlderThanAClockTick(age: Double, recent: Bool) {
    let now = timespec(tv_sec: 1_700_000_100, tv_nsec: 500_000_000)
    let changed = 1_700_000_100.5 - age
    let seconds = Int(changed.rounded(.down))
    let nanoseconds = Int(((changed - Double(seconds)) * 1e9).rounded())
    let stamp = ConfigDirectory.FileStamp(
      seconds: 1_600_000_000, nanoseconds: 0, changeSeconds: seconds, changeNanoseconds: nanoseconds, size: 1,
      inode: 1)
    #expect(stamp.isRecent(before: now) == recent)
  }
}

@Suite struct NetworkIndexBackendTests {
  /// Files copied a moment ago are too fresh to index (their stamps could still change within the clock tick).
  static func settle() async throws { try await Task.sleep(for: .milliseconds(80)) }

  /// A sandbox with fixture `sets` copied and settled; with `indexed`, a first backend has listed (and indexed) them.
  static func sandbox(_ sets: [String] = ["valid"], indexed: Bool) async throws -> BackendSandbox {
    let sandbox = try BackendSandbox()
    do {
      try BackendFixtures.copy(sets, to: sandbox.configDirectory)
      try await settle()
      if indexed { _ = try await sandbox.backend().list(filters: NetworkFilters()) }
      return sandbox
    } catch {
      sandbox.remove()
      throw error
    }
  }

  static func indexEntries(_ sandbox: BackendSandbox) throws -> [NetworkIndex.Entry] {
    let path = try #require(sandbox.configuration().networkIndexPath)
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    return try #require(NetworkIndex.decode(bytes, directory: sandbox.configDirectory))
  }

  @Test func theIndexLivesInThePrivateCacheDirectory() async throws {
    let sandbox = try await Self.sandbox(indexed: true)
    defer { sandbox.remove() }
    let path = try #require(sandbox.configuration().networkIndexPath)
    #expect(path.hasPrefix(sandbox.root.appending("cache") + "/cnet/networks-"))
    let file = try FileManager.default.attributesOfItem(atPath: path)
    #expect((file[.posixPermissions] as? Int) == 0o600)
    let directory = try FileManager.default.attributesOfItem(atPath: (path as NSString).deletingLastPathComponent)
    #expect((directory[.posixPermissions] as? Int) == 0o700)
    #expect(try Self.indexEntries(sandbox).map(\.name).filter { $0.hasSuffix(".conflist") }.count == 6)
    // The config directory holds only what Podman would find there.
    let fixtures = try FileManager.default.contentsOfDirectory(
      atPath: BackendFixtures.directory.appendingPathComponent("valid").path)
    #expect(try sandbox.fileNames() == fixtures.sorted())
  }

  /// A new backend takes an entry from the index as long as the file's stamp matches, and re-reads the file
  /// as soon as it changes. The doctored entry proves which of the two was used.
  @Test func aNewProcessTrustsTheIndexOnlyWhileTheStampMatches() async throws {
    let sandbox = try await Self.sandbox(indexed: true)
    defer { sandbox.remove() }
    var entries = try Self.indexEntries(sandbox)
    let web = try #require(entries.firstIndex { $0.name == "10-web.conflist" })
    guard case .network(let stored) = entries[web].result else {
      Issue.record("web is not indexed as a network")
      return
    }
    var doctored = stored.network
    doctored.driver = "doctored"
    entries[web].result = .network(StoredNetwork(network: doctored, path: stored.path, configList: nil))
    let path = try #require(sandbox.configuration().networkIndexPath)
    try Data(NetworkIndex.encode(entries, directory: sandbox.configDirectory)).write(to: URL(fileURLWithPath: path))
    #expect(try await sandbox.backend().inspect("web").driver == "doctored")

    // Rewritten with the same bytes: the change time moves, so the file is read again.
    let file = "\(sandbox.configDirectory)/10-web.conflist"
    try Data(contentsOf: URL(fileURLWithPath: file)).write(to: URL(fileURLWithPath: file))
    try await Self.settle()
    #expect(try await sandbox.backend().inspect("web").driver == "bridge")
    // …and the index was brought up to date.
    #expect(try await sandbox.backend().inspect("web").driver == "bridge")
  }

  /// Many files take the parallel path (stats spread over the cores, the index decoded beside them); it must agree
  /// with a full read, and still notice the one file that changed.
  @Test func manyFilesAgreeWithAFullRead() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    for number in 1...150 {
      let text = """
        {"cniVersion":"0.4.0","name":"n\(number)","plugins":[{"type":"bridge","bridge":"br\(number)",\
        "ipam":{"type":"host-local","ranges":[[{"subnet":"10.\(number).0.0/24","gateway":"10.\(number).0.1"}]]}}]}
        """
      try Data(text.utf8).write(to: URL(fileURLWithPath: "\(sandbox.configDirectory)/n\(number).conflist"))
    }
    try await Self.settle()
    var plain = sandbox.configuration()
    plain.usesNetworkIndex = false
    let expected = try await CNINetworkBackend(configuration: plain).list(filters: NetworkFilters())
      .filter { $0.name != "podman" }
    #expect(expected.count == 150)
    _ = try await sandbox.backend().list(filters: NetworkFilters())
    #expect(try Self.indexEntries(sandbox).count == 150)
    let indexed = try await sandbox.backend().list(filters: NetworkFilters()).filter { $0.name != "podman" }
    #expect(indexed == expected)

    // A damaged entry in one of the parts decoded side by side: the whole index is ignored, nothing is lost.
    let path = try #require(sandbox.configuration().networkIndexPath)
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    bytes[bytes.count * 3 / 4] ^= 0xff
    bytes[bytes.count * 3 / 4 + 1] ^= 0xff
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let recovered = try await sandbox.backend().list(filters: NetworkFilters()).filter { $0.name != "podman" }
    #expect(recovered == expected)

    let changed = """
      {"cniVersion":"0.4.0","name":"n77","plugins":[{"type":"macvlan","master":"eth7"}]}
      """
    try Data(changed.utf8).write(to: URL(fileURLWithPath: "\(sandbox.configDirectory)/n77.conflist"))
    try await Self.settle()
    let after = try await sandbox.backend().inspect("n77")
    #expect(after.driver == "macvlan" && after.networkInterface == "eth7")
  }

  @Test func everyNewProcessWarnsAgainAboutSkippedFiles() async throws {
    let sandbox = try await Self.sandbox(["valid", "invalid"], indexed: true)
    defer { sandbox.remove() }
    #expect(sandbox.logs.warnings.count == 10)
    let second = LogCapture()
    var configuration = sandbox.configuration()
    configuration.logger = second.logger
    let names = try await CNINetworkBackend(configuration: configuration).list(filters: NetworkFilters()).map(\.name)
    #expect(names == ["dual", "foreign", "isolated", "lan", "noipam", "podman", "web"])
    #expect(second.warnings.sorted() == sandbox.logs.warnings.sorted())
  }

  @Test func aDamagedIndexIsIgnoredAndRewritten() async throws {
    let sandbox = try await Self.sandbox(indexed: false)
    defer { sandbox.remove() }
    let path = try #require(sandbox.configuration().networkIndexPath)
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data("cnet-network-index-4\n\u{7}garbage".utf8).write(to: URL(fileURLWithPath: path))
    let names = try await sandbox.backend().list(filters: NetworkFilters()).map(\.name)
    #expect(names == ["dual", "foreign", "isolated", "lan", "noipam", "podman", "web"])
    #expect(try Self.indexEntries(sandbox).count == 6)
  }

  @Test func removedFilesLeaveTheIndex() async throws {
    let sandbox = try await Self.sandbox(indexed: true)
    defer { sandbox.remove() }
    try FileManager.default.removeItem(atPath: "\(sandbox.configDirectory)/10-web.conflist")
    let names = try await sandbox.backend().list(filters: NetworkFilters()).map(\.name)
    #expect(!names.contains("web"))
    #expect(try !Self.indexEntries(sandbox).contains { $0.name == "10-web.conflist" })
  }

  /// Networks from the index carry no config list; setup reads the file, and refuses one that now holds another
  /// network.
  @Test func anIndexedNetworkReadsItsConfigListWhenNeeded() async throws {
    let sandbox = try await Self.sandbox(indexed: true)
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let stored = try await backend.lookup("web")
    #expect(stored.configList == nil)
    let file = "\(sandbox.configDirectory)/10-web.conflist"
    let expected = try JSONValue.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
    #expect(try backend.directory.configList(of: stored) == expected)
    let list = try backend.configList(for: stored, staticIPCount: 0)
    #expect(list.name == "web")

    try Data(#"{"cniVersion":"0.4.0","name":"other","plugins":[{"type":"bridge"}]}"#.utf8)
      .write(to: URL(fileURLWithPath: file))
    let error = #expect(throws: NetworkError.self) { try backend.directory.configList(of: stored) }
    #expect(error?.message.contains("changed while in use") == true)
  }

  @Test func theIndexCanBeTurnedOff() async throws {
    let sandbox = try await Self.sandbox(indexed: false)
    defer { sandbox.remove() }
    var configuration = sandbox.configuration()
    configuration.usesNetworkIndex = false
    #expect(configuration.networkIndexPath == nil)
    #expect(try await CNINetworkBackend(configuration: configuration).list(filters: NetworkFilters()).count == 7)
    #expect(!FileManager.default.fileExists(atPath: sandbox.root.appending("cache/cnet")))
  }
}
