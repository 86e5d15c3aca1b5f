import Foundation
import TestSupport
import Testing

@testable import BoltDB

/// Podman's ipam.db layout (containers/common libnetwork/netavark/ipam.go), built by hand.
enum PodmanFixtures {
  static let first = String(repeating: "a1", count: 32)
  static let second = String(repeating: "b2", count: 32)
  static let fd005: [UInt8] = [0xFD, 0] + [UInt8](repeating: 0, count: 13) + [5]

  static func network(subnets: [BoltImage.Element], ids: [BoltImage.Element]) -> [UInt8] {
    BoltImage.inlineBucket(subnets + [.bucket("ids", BoltImage.inlineBucket(ids))])
  }

  /// Network "podman1" with an IPv4 and an IPv6 subnet, two containers, a dynamic allocation (lastIP); network "web"
  /// in a page of its own with one static allocation; network "idle" with nothing allocated any more.
  static func database() -> [UInt8] {
    var image = BoltImage()
    let ipv4 = BoltImage.inlineBucket([
      .value([10, 89, 0, 5], BoltImage.bytes(first)), .value([10, 89, 0, 6], BoltImage.bytes(second)),
      .value(BoltImage.bytes("lastIP"), [10, 89, 0, 6]),
    ])
    let ipv6 = BoltImage.inlineBucket([.value(fd005, BoltImage.bytes(first))])
    let podman1 = network(
      subnets: [.bucket("10.89.0.0/24", ipv4), .bucket("fd00::/64", ipv6)],
      ids: [.value(first, #"["10.89.0.5","fd00::5"]"#), .value(second, #"["10.89.0.6"]"#)])
    let webSubnet = BoltImage.inlineBucket([.value([10, 231, 1, 50], BoltImage.bytes(second))])
    let web = image.addLeaf([
      .bucket("10.231.1.0/24", webSubnet),
      .bucket("ids", BoltImage.inlineBucket([.value(second, #"["10.231.1.50"]"#)])),
    ])
    let idle = network(
      subnets: [.bucket("10.89.1.0/24", BoltImage.inlineBucket([.value(BoltImage.bytes("lastIP"), [10, 89, 1, 9])]))],
      ids: [])
    image.root = image.addLeaf([
      .bucket("podman1", podman1), .bucket("web", BoltImage.bucketHeader(root: web)), .bucket("idle", idle),
    ])
    return image.bytes()
  }

  /// A database whose single network holds `elements` in its one subnet bucket.
  static func subnetHolding(_ elements: [BoltImage.Element]) -> [UInt8] {
    var image = BoltImage()
    _ = image.addLeaf([
      .bucket("net", network(subnets: [.bucket("10.0.0.0/24", BoltImage.inlineBucket(elements))], ids: []))
    ])
    return image.bytes()
  }
}

@Suite struct PodmanIPAMAllocationsTests {
  @Test func decodesPodmansLayout() throws {
    let allocations = try PodmanIPAMAllocations(file: BoltFile(bytes: PodmanFixtures.database()))
    let first = PodmanFixtures.first
    let second = PodmanFixtures.second
    #expect(
      allocations.addressesByNetwork == [
        "podman1": ["10.89.0.5": first, "10.89.0.6": second, "fd00::5": first],
        "web": ["10.231.1.50": second],
        "idle": [:],
      ])
    let podman1 = try #require(allocations.networks["podman1"])
    #expect(
      podman1.subnets["10.89.0.0/24"]
        == .init(subnet: "10.89.0.0/24", addresses: ["10.89.0.5": first, "10.89.0.6": second], lastIP: "10.89.0.6"))
    #expect(podman1.subnets["fd00::/64"]?.lastIP == nil)
    #expect(podman1.containers == [first: ["10.89.0.5", "fd00::5"], second: ["10.89.0.6"]])
    #expect(allocations.networks["idle"]?.subnets["10.89.1.0/24"]?.lastIP == "10.89.1.9")
  }

  @Test(
    arguments: [
      (
        "a plain value at the top level",
        { @Sendable () -> [UInt8] in
          var image = BoltImage()
          _ = image.addLeaf([.value("net", "x")])
          return image.bytes()
        }, #"top level: key "net" holds a value where Podman keeps buckets"#
      ),
      (
        "a key that is no address",
        { @Sendable in PodmanFixtures.subnetHolding([.value([1, 2, 3, 4, 5], BoltImage.bytes("id"))]) },
        "network net subnet 10.0.0.0/24: key of 5 bytes is neither an IP address nor lastIP"
      ),
      (
        "a lastIP that is no address",
        { @Sendable in PodmanFixtures.subnetHolding([.value(BoltImage.bytes("lastIP"), [1, 2])]) },
        "network net subnet 10.0.0.0/24: lastIP holds 2 bytes, not an IP address"
      ),
      (
        "a container ID that is not text",
        { @Sendable in PodmanFixtures.subnetHolding([.value([10, 0, 0, 2], [0xFF, 0xFE])]) },
        "container ID for 10.0.0.2 in network net subnet 10.0.0.0/24 is not UTF-8 text"
      ),
      (
        "an ids entry that is not a JSON list",
        { @Sendable () -> [UInt8] in
          var image = BoltImage()
          _ = image.addLeaf([.bucket("net", PodmanFixtures.network(subnets: [], ids: [.value("c1", "10.0.0.2")]))])
          return image.bytes()
        }, "network net ids: container c1 has no JSON list of addresses"
      ),
    ] as [(String, @Sendable () -> [UInt8], String)])
  func refusesAnythingOutsidePodmansLayout(_ name: String, bytes: @Sendable () -> [UInt8], message: String) {
    #expect {
      try PodmanIPAMAllocations(file: BoltFile(bytes: bytes(), path: "ipam.db"))
    } throws: { error in
      "\(error)" == "ipam.db: \(message)"
    }
  }

  @Test(
    arguments: [
      ([10, 89, 0, 5], "10.89.0.5"),
      ([UInt8](repeating: 0, count: 16), "::"),
      ([UInt8](repeating: 0, count: 15) + [1], "::1"),
      (PodmanFixtures.fd005, "fd00::5"),
      ([0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], "2001:db8:0:1:1:1:1:1"),
      ([0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3], "1:0:0:2::3"),
      ([0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4], "1::2:0:0:3:4"),
      ([0xFE, 0x80] + [UInt8](repeating: 0, count: 6) + [0xAB, 0xCD, 0, 0, 0, 0, 0, 0], "fe80::abcd:0:0:0"),
      ([UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 10, 1, 2, 3], "10.1.2.3"),
      ([1, 2, 3], nil),
    ] as [([UInt8], String?)])
  func formatsAddressesLikeGo(_ bytes: [UInt8], text: String?) {
    #expect(ipText(bytes) == text)
  }

  @Test(
    arguments: [
      (#"["10.89.0.5","fd00::5"]"#, ["10.89.0.5", "fd00::5"]),
      ("[]", []),
      ("null", []),
      (#" [ "a" , "b" ] "#, ["a", "b"]),
      ("", nil),
      ("[", nil),
      (#"["a""#, nil),
      (#"["a",]"#, nil),
      (#"["a\"b"]"#, nil),
      (#""a""#, nil),
      ("[1]", nil),
      (#"["a"]x"#, nil),
      ("nullx", nil),
    ] as [(String, [String]?)])
  func readsGoJSONStringLists(_ json: String, strings: [String]?) {
    #expect(jsonStringArray(Array(json.utf8)) == strings)
  }
}

@Suite struct BoltFileOnDiskTests {
  private func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  @Test func readsAFileFromDisk() throws {
    let directory = try TemporaryDirectory(prefix: "bolt-test")
    defer { directory.remove() }
    let path = directory.appending("ipam.db")
    try write(PodmanFixtures.database(), to: path)
    let allocations = try PodmanIPAMAllocations.read(path: path)
    #expect(allocations["web"] == ["10.231.1.50": PodmanFixtures.second])
    #expect(try BoltFile(path: path).path == path)
  }

  @Test func aMissingOrEmptyFileMeansNoAllocations() throws {
    let directory = try TemporaryDirectory(prefix: "bolt-test")
    defer { directory.remove() }
    let missing = directory.appending("ipam.db")
    #expect(try PodmanIPAMAllocations.read(path: missing) == [:])
    #expect {
      try BoltFile(path: missing)
    } throws: { error in
      guard let error = error as? BoltError else { return false }
      return error.isFileMissing && "\(error)".hasPrefix("\(missing): cannot open: ")
    }
    try write([], to: missing)
    #expect(try PodmanIPAMAllocations.read(path: missing) == [:])
    // A short file that is not empty is damage, not "nothing allocated".
    try write([1, 2, 3], to: missing)
    #expect(throws: BoltError.self) { try PodmanIPAMAllocations.read(path: missing) }
  }

  @Test func refusesDirectoriesAndOversizedFiles() throws {
    let directory = try TemporaryDirectory(prefix: "bolt-test")
    defer { directory.remove() }
    #expect(throws: BoltError(path: directory.path, kind: .notRegularFile)) {
      try BoltFile(path: directory.path)
    }
    let path = directory.appending("ipam.db")
    try write(Fixtures.tiny(), to: path)
    #expect(throws: BoltError(path: path, kind: .tooLarge(size: 16384, limit: 4096))) {
      try BoltFile(path: path, maximumSize: 4096)
    }
  }

  /// Podman holding its writer's LOCK_EX must not block us, and after reading we must not hold a lock that would
  /// block Podman.
  @Test func neitherWaitsForNorKeepsBboltsLock() throws {
    let directory = try TemporaryDirectory(prefix: "bolt-test")
    defer { directory.remove() }
    let path = directory.appending("ipam.db")
    try write(PodmanFixtures.database(), to: path)
    let writer = open(path, O_RDWR | O_CLOEXEC)
    try #require(writer >= 0)
    defer { close(writer) }
    try #require(flock(writer, LOCK_EX | LOCK_NB) == 0)
    #expect(try PodmanIPAMAllocations.read(path: path)["web"] == ["10.231.1.50": PodmanFixtures.second])
    #expect(flock(writer, LOCK_UN) == 0)

    _ = try BoltFile(path: path)
    #expect(flock(writer, LOCK_EX | LOCK_NB) == 0)
  }
}
