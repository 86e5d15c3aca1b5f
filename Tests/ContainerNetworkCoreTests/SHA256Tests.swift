import Foundation
import TestSupport
import Testing

@testable import ContainerNetworkCore

/// Our SHA-256 (network IDs) against the FIPS 180-4 examples and coreutils' `sha256sum`.
@Suite struct SHA256Tests {
  static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

  struct Vector: Sendable, CustomTestStringConvertible {
    var message: [UInt8]
    var digest: String
    var testDescription: String { "\(message.count) bytes" }
  }

  static let vectors: [Vector] = [
    Vector(message: [], digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    Vector(message: Array("abc".utf8), digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    Vector(
      message: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
      digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    Vector(
      message: Array(
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
          + "nopqrstu").utf8),
      digest: "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    Vector(
      message: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000),
      digest: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
  ]

  @Test(arguments: vectors)
  func fipsExamples(_ vector: Vector) {
    #expect(Self.hex(SHA256.hash(vector.message)) == vector.digest)
  }

  /// Podman's default network has this ID in every installation.
  @Test func podmanDefaultNetworkID() {
    #expect(NetworkID.of(name: "podman") == "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9")
  }

  /// Every length across the padding boundaries (55, 56, 63, 64 bytes and their doubles), random content, against
  /// `sha256sum` run once over all of them.
  @Test func agreesWithSha256sum() throws {
    var generator = SeededGenerator(seed: 0x5A5A_2560_0000_0001)
    let directory = try TemporaryDirectory(prefix: "sha256")
    defer { directory.remove() }
    var paths: [String] = []
    var expected: [String: String] = [:]
    for length in 0...200 {
      let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let path = directory.appending("m\(length)")
      try Data(message).write(to: URL(fileURLWithPath: path))
      paths.append(path)
      expected[path] = Self.hex(SHA256.hash(message))
    }
    let output = try runCommand(["sha256sum"] + paths).stdout
    var checked = 0
    for line in output.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 1)
      let path = String(parts[1].drop { $0 == " " || $0 == "*" })
      #expect(expected[path] == String(parts[0]), "\(path)")
      checked += 1
    }
    #expect(checked == paths.count)
  }
}
