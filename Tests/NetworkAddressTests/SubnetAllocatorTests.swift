import NetworkAddress
import TestSupport
import Testing

@Suite struct SubnetAllocatorTests {
  @Test func defaultPoolsArePodmans() {
    #expect(
      SubnetAllocator.defaultPools.map(\.description) == [
        "10.89.0.0/16", "10.90.0.0/15", "10.92.0.0/14", "10.96.0.0/11", "10.128.0.0/9",
      ])
  }

  @Test(arguments: [
    ([], "10.89.0.0/24"),
    (["10.89.0.0/24"], "10.89.1.0/24"),
    (["10.89.0.0/28"], "10.89.1.0/24"),  // a small used subnet blocks the whole candidate
    (["10.89.0.255/32", "10.89.1.0/24"], "10.89.2.0/24"),
    (["10.89.1.0/24"], "10.89.0.0/24"),  // the first free, not the one after the highest used
    (["10.89.0.0/16"], "10.90.0.0/24"),
    (["10.88.0.0/15"], "10.90.0.0/24"),  // a used range larger than the pool
    (["10.64.0.0/10"], "10.128.0.0/24"),
    (["10.89.0.0/17", "10.89.128.0/17", "10.90.0.0/16"], "10.91.0.0/24"),
    (["192.168.0.0/16", "fd00::/8", "::/0"], "10.89.0.0/24"),  // other ranges and families do not matter
    (["10.89.0.5/24"], "10.89.1.0/24"),  // an unmasked used network counts by its range
  ])
  func defaultPools(used: [String], expected: String) throws {
    let result = try SubnetAllocator().firstFree(avoiding: used.map { IPNetwork($0)! })
    #expect(result.description == expected)
  }

  @Test(arguments: [["0.0.0.0/0"], ["10.0.0.0/8"], ["10.0.0.0/9", "10.128.0.0/9"]])
  func defaultPoolsExhausted(used: [String]) {
    #expect(
      throws: AddressError(.poolsExhausted, SubnetAllocator.defaultPools.map(\.description).joined(separator: ", "))
    ) {
      try SubnetAllocator().firstFree(avoiding: used.map { IPNetwork($0)! })
    }
  }

  @Test(arguments: [
    (["10.0.0.0/26", "10.1.0.0/16"], 24, [], "10.1.0.0/24"),  // a pool smaller than the subnet yields nothing
    (["10.89.0.0/16"], 16, [], "10.89.0.0/16"),
    (["10.89.0.0/16", "10.90.0.0/15"], 16, ["10.89.5.0/24"], "10.90.0.0/16"),
    (["10.0.0.7/24"], 26, ["10.0.0.0/26"], "10.0.0.64/26"),  // an unmasked pool starts at its network
    (["255.255.255.0/24"], 26, ["255.255.255.0/25"], "255.255.255.128/26"),
    (["fd00::/48"], 64, ["fd00::/64"], "fd00:0:0:1::/64"),
    (["fd00::/48", "10.0.0.0/8"], 24, [], "10.0.0.0/24"),  // a /24 does not fit in the /48 pool
    (["10.0.0.0/8", "fd00::/48"], 64, [], "fd00::/64"),  // nor a /64 in an IPv4 pool
    (
      ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"], 126, ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/121"],
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff80/126"
    ),
    (["::/0"], 0, [], "::/0"),
  ])
  func customPools(pools: [String], prefixLength: Int, used: [String], expected: String) throws {
    let allocator = SubnetAllocator(pools: pools.map { IPNetwork($0)! }, subnetPrefixLength: prefixLength)
    #expect(try allocator.firstFree(avoiding: used.map { IPNetwork($0)! }).description == expected)
  }

  @Test(arguments: [
    (["255.255.255.0/24"], 26, ["255.255.255.0/24"]),
    (["255.255.255.0/24"], 26, ["255.255.255.192/26", "255.255.255.0/25", "255.255.255.128/26"]),
    (["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"], 126, ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"]),
    (["::/0"], 0, ["::1/128"]),
    (["10.0.0.0/24"], 33, []),  // no IPv4 subnet can be a /33
    (["fd00::/64"], 48, []),
  ])
  func customPoolsExhausted(pools: [String], prefixLength: Int, used: [String]) {
    let allocator = SubnetAllocator(pools: pools.map { IPNetwork($0)! }, subnetPrefixLength: prefixLength)
    #expect(throws: AddressError(.poolsExhausted, pools.joined(separator: ", "))) {
      try allocator.firstFree(avoiding: used.map { IPNetwork($0)! })
    }
  }

  @Test func allocatingRepeatedlyFillsThePoolsInOrder() throws {
    let allocator = SubnetAllocator()
    var used: [IPNetwork] = []
    for _ in 0..<300 { used.append(try allocator.firstFree(avoiding: used)) }
    #expect(used[0].description == "10.89.0.0/24")
    #expect(used[255].description == "10.89.255.0/24")
    #expect(used[256].description == "10.90.0.0/24")
    #expect(used[299].description == "10.90.43.0/24")
  }

  /// 10 000 used /24s fill the first four default pools (9 984 subnets) and 16 of the fifth, in shuffled order.
  /// Prints the time one allocation takes; tests never assert on time.
  @Test func tenThousandUsedSubnets() throws {
    var random = SeededGenerator(seed: propertySeed)
    var all: [IPNetwork] = []
    for pool in SubnetAllocator.defaultPools {
      var subnet = try IPNetwork(address: pool.address, prefixLength: 24)
      while pool.contains(subnet), all.count < 10_000 {
        all.append(subnet)
        subnet = try subnet.nextSubnet()
      }
    }
    all.shuffle(using: &random)
    let allocator = SubnetAllocator()
    let rounds = 20
    var result: IPNetwork? = nil
    let elapsed = try ContinuousClock().measure {
      for _ in 0..<rounds { result = try allocator.firstFree(avoiding: all) }
    }
    print("SubnetAllocator.firstFree with 10 000 used subnets: \(elapsed / rounds) per call")
    #expect(result?.description == "10.128.16.0/24")
  }

  /// Small random cases against a brute-force reference that walks every candidate and tests it against every
  /// used subnet, as Podman does.
  @Test func matchesTheBruteForceReference() {
    property("allocator vs brute force", cases: 2000) { random in
      let v4Base = IPAddress("10.0.0.0")!
      let v6Base = IPAddress("fd00::")!
      let prefixLength = Int.random(in: 24...30, using: &random)
      let pools = (0..<Int.random(in: 1...3, using: &random)).map { _ in
        let useV6 = random.chance(0.25)
        let base = useV6 ? v6Base : v4Base
        let offset = UInt128.random(in: 0..<4096, using: &random)
        let poolPrefix = Int.random(in: 22...28, using: &random) + (useV6 ? 96 : 0)
        return try! IPNetwork(address: base.advanced(by: offset)!, prefixLength: poolPrefix)
      }
      let used = (0..<Int.random(in: 0...14, using: &random)).map { _ in
        let base = random.chance(0.2) ? v6Base : v4Base
        let offset = UInt128.random(in: 0..<4096, using: &random)
        let address = base.advanced(by: offset)!
        let shift = address.isIPv6 ? 96 : 0
        return try! IPNetwork(address: address, prefixLength: Int.random(in: 20...32, using: &random) + shift)
      }
      // v6 pools get a v6 subnet size; one allocator per family keeps the reference simple.
      for family in [false, true] {
        let familyPools = pools.filter { $0.isIPv6 == family }
        let size = prefixLength + (family ? 96 : 0)
        let allocator = SubnetAllocator(pools: familyPools, subnetPrefixLength: size)
        let expected = bruteForceFirstFree(pools: familyPools, prefixLength: size, used: used)
        let actual = try? allocator.firstFree(avoiding: used)
        try check(
          actual == expected,
          "pools \(familyPools) /\(size) used \(used): got \(actual.map(\.description) ?? "none"), "
            + "expected \(expected.map(\.description) ?? "none")")
        if let actual {
          try check(!used.contains { $0.overlaps(actual) }, "\(actual) overlaps a used subnet in \(used)")
          try check(familyPools.contains { $0.contains(actual) }, "\(actual) lies outside the pools")
        }
      }
    }
  }

  /// Used sets large enough (over 64) to take the allocator's radix-sort path.
  @Test func matchesTheBruteForceReferenceOnLargeUsedSets() {
    property("allocator vs brute force, large", cases: 60) { random in
      let pool = IPNetwork("10.0.0.0/16")!
      let used = (0..<Int.random(in: 65...400, using: &random)).map { _ in
        let address = IPAddress(random.chance(0.9) ? "10.0.0.0" : "0.0.0.0")!
          .advanced(by: UInt128.random(in: 0..<(1 << 16), using: &random))!
        return try! IPNetwork(address: address, prefixLength: Int.random(in: 22...32, using: &random))
      }
      let allocator = SubnetAllocator(pools: [pool], subnetPrefixLength: 24)
      let expected = bruteForceFirstFree(pools: [pool], prefixLength: 24, used: used)
      let actual = try? allocator.firstFree(avoiding: used)
      try check(
        actual == expected,
        "\(used.count) used: got \(actual.map(\.description) ?? "none"), "
          + "expected \(expected.map(\.description) ?? "none")")
    }
  }

  private func bruteForceFirstFree(pools: [IPNetwork], prefixLength: Int, used: [IPNetwork]) -> IPNetwork? {
    for pool in pools where prefixLength >= pool.prefixLength {
      var candidate: IPNetwork? = try! IPNetwork(address: pool.networkAddress, prefixLength: prefixLength)
      while let subnet = candidate, pool.contains(subnet) {
        if !used.contains(where: { $0.overlaps(subnet) }) { return subnet }
        candidate = try? subnet.nextSubnet()
      }
    }
    return nil
  }
}
