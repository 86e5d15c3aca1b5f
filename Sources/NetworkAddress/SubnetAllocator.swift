/// Picks free subnets out of a list of pools, the way Podman picks a subnet for a new network.
///
/// One allocation sorts the used ranges once and then sweeps the candidates, jumping past each blocking range,
/// so it costs O(n log n) in the number of used subnets rather than testing every candidate against every one.
public struct SubnetAllocator: Sendable {
  /// Podman's default subnet pools (`default_subnet_pools` in containers.conf), tried in this order.
  public static let defaultPools: [IPNetwork] = [
    "10.89.0.0/16", "10.90.0.0/15", "10.92.0.0/14", "10.96.0.0/11", "10.128.0.0/9",
  ].map { IPNetwork($0)! }

  /// The pools, in the order they are tried.
  public var pools: [IPNetwork]
  /// The prefix length of every subnet handed out.
  public var subnetPrefixLength: Int

  /// Creates an allocator that hands out subnets of `/subnetPrefixLength` from `pools`.
  ///
  /// A pool smaller than the subnet size, or whose family cannot have such a prefix, yields nothing; unlike
  /// Podman, which would hand out a subnet larger than the pool, every result lies wholly inside its pool.
  public init(pools: [IPNetwork] = defaultPools, subnetPrefixLength: Int = 24) {
    self.pools = pools
    self.subnetPrefixLength = subnetPrefixLength
  }

  /// The first subnet of size `/subnetPrefixLength`, scanning the pools in order and each pool from its start,
  /// that overlaps none of `used`.
  ///
  /// `used` may hold networks of any size and of both families; only those of a pool's family matter to it.
  /// - Throws: `.poolsExhausted` when every candidate overlaps a used subnet.
  public func firstFree(avoiding used: [IPNetwork]) throws(AddressError) -> IPNetwork {
    let v4 = Self.mergedRanges(used.lazy.filter { $0.isIPv4 })
    let v6 = Self.mergedRanges(used.lazy.filter { $0.isIPv6 })
    for pool in pools {
      if let subnet = firstFree(in: pool, avoiding: pool.isIPv4 ? v4 : v6) {
        return subnet
      }
    }
    throw AddressError(.poolsExhausted, pools.map(\.description).joined(separator: ", "))
  }

  /// An inclusive range of address values.
  struct Range {
    var start: UInt128
    var end: UInt128
  }

  /// The address ranges of `networks`, sorted, with overlapping and adjacent ones merged so that they are
  /// disjoint and their ends ascend (which the binary search below relies on).
  static func mergedRanges(_ networks: some Sequence<IPNetwork>) -> [Range] {
    let sorted = networks.map { Range(start: $0.networkValue, end: $0.broadcastValue) }
      .sorted { $0.start < $1.start }
    var merged: [Range] = []
    merged.reserveCapacity(sorted.count)
    for range in sorted {
      if let last = merged.last, last.end == .max || range.start <= last.end + 1 {
        merged[merged.count - 1].end = max(last.end, range.end)
      } else {
        merged.append(range)
      }
    }
    return merged
  }

  func firstFree(in pool: IPNetwork, avoiding used: [Range]) -> IPNetwork? {
    guard subnetPrefixLength >= pool.prefixLength, subnetPrefixLength <= pool.address.bitWidth else { return nil }
    let hostBits = pool.address.bitWidth - subnetPrefixLength
    let poolEnd = pool.broadcastValue
    var candidate = pool.networkValue
    // The first used range that ends at or after the candidate; later candidates only move forward.
    var index = Self.firstIndex(in: used, endingAtOrAfter: candidate)
    while true {
      let candidateEnd = candidate | (hostBits == 128 ? .max : (1 << hostBits) - 1)
      while index < used.count, used[index].end < candidate { index += 1 }
      guard index < used.count, used[index].start <= candidateEnd else {
        return IPNetwork(unchecked: pool.address.withValue(candidate), prefixLength: subnetPrefixLength)
      }
      // Jump to the first aligned candidate past the blocking range.
      let blockEnd = used[index].end
      guard blockEnd < poolEnd else { return nil }
      candidate = (blockEnd >> hostBits + 1) << hostBits
    }
  }

  static func firstIndex(in ranges: [Range], endingAtOrAfter value: UInt128) -> Int {
    var low = 0
    var high = ranges.count
    while low < high {
      let middle = (low + high) / 2
      if ranges[middle].end < value { low = middle + 1 } else { high = middle }
    }
    return low
  }
}
