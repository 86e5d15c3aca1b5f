import Foundation
import NetworkAddress
import TestSupport
import Testing

/// The seed of every property test: fixed so runs are deterministic, overridable to replay or explore.
let propertySeed: UInt64 =
  ProcessInfo.processInfo.environment["NETWORK_ADDRESS_SEED"].flatMap { UInt64($0) }
  ?? 0x5EED_C0FF_EE00_0001

struct PropertyFailure: Error, CustomStringConvertible {
  var description: String
}

/// Fails the current property case with `message` unless `condition` holds.
func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(PropertyFailure) {
  if !condition { throw PropertyFailure(description: message()) }
}

/// Runs `body` on `cases` random cases and records the first failure together with the seed that replays it.
///
/// Each property derives its own stream from the seed and its name (FNV-1a, since `Hasher` is randomized per
/// process), so adding a property does not change the cases another one sees.
func property(
  _ name: String, cases: Int = 3000, sourceLocation: SourceLocation = #_sourceLocation,
  _ body: (inout SeededGenerator) throws -> Void
) {
  var nameHash: UInt64 = 0xCBF2_9CE4_8422_2325
  for byte in name.utf8 { nameHash = (nameHash ^ UInt64(byte)) &* 0x100_0000_01B3 }
  var generator = SeededGenerator(seed: propertySeed ^ nameHash)
  for index in 0..<cases {
    do {
      try body(&generator)
    } catch {
      let comment = Comment(
        rawValue: "property \"\(name)\" failed at case \(index) (seed \(propertySeed); replay with "
          + "NETWORK_ADDRESS_SEED=\(propertySeed)): \(error)")
      print(comment.rawValue)
      Issue.record(comment, sourceLocation: sourceLocation)
      return
    }
  }
}

// MARK: - Random values biased towards the interesting cases (zero runs, edges of ranges).

extension SeededGenerator {
  mutating func chance(_ probability: Double) -> Bool {
    Double.random(in: 0..<1, using: &self) < probability
  }

  mutating func ipv4() -> IPv4Address {
    IPv4Address(UInt32.random(in: .min ... .max, using: &self))
  }

  /// Half the groups are zero so zero-run compression is exercised; some addresses are IPv4-mapped.
  mutating func ipv6() -> IPv6Address {
    if chance(0.05) { return IPv6Address(0xFFFF_0000_0000 | UInt128(ipv4().value)) }
    let groups = (0..<8).map { _ in
      chance(0.5)
        ? 0 : chance(0.3) ? UInt16.random(in: 1...0xF, using: &self) : UInt16.random(in: 1 ... .max, using: &self)
    }
    return IPv6Address(groups: groups)
  }

  mutating func ipAddress() -> IPAddress {
    chance(0.5) ? .v4(ipv4()) : .v6(ipv6())
  }

  mutating func network(_ address: IPAddress? = nil) -> IPNetwork {
    let address = address ?? ipAddress()
    return try! IPNetwork(address: address, prefixLength: Int.random(in: 0...address.bitWidth, using: &self))
  }

  /// A network near `other` (same family, sharing high bits) so that overlaps are frequent.
  mutating func network(near other: IPNetwork) -> IPNetwork {
    let width = other.address.bitWidth
    let sharedBits = Int.random(in: 0...width, using: &self)
    let keep: UInt128 = sharedBits == 0 ? 0 : (UInt128.max << (128 - sharedBits)) >> (128 - width)
    let random = ipAddress(family: other.address).value
    let value = other.address.value & keep | random & ~keep & (width == 32 ? UInt128(UInt32.max) : .max)
    return network(other.address.isIPv4 ? .v4(IPv4Address(UInt32(value))) : .v6(IPv6Address(value)))
  }

  mutating func ipAddress(family: IPAddress) -> IPAddress {
    family.isIPv4 ? .v4(ipv4()) : .v6(ipv6())
  }

  mutating func mac() -> MACAddress {
    MACAddress(bytes: (0..<6).map { _ in UInt8.random(in: 0 ... .max, using: &self) })!
  }

  mutating func element<T>(of values: [T]) -> T {
    values.randomElement(using: &self)!
  }
}
