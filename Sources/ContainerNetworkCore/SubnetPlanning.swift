import NetworkAddress

/// Completing and checking the subnets of a network that is being created, the way Podman does for every backend.
public enum SubnetPlanning {
  /// Validates the subnets of `network` and fills what the user left out.
  ///
  /// - Every subnet is stored masked; a given gateway and lease range must lie in their subnet.
  /// - No subnet may overlap `used` (other networks' subnets and host addresses) or another subnet of the request.
  /// - With `automaticSubnets` (bridge networks with host-local IPAM), a network without an IPv4 subnet gets the
  ///   first free /24 from `allocator`, and an IPv6-enabled network without an IPv6 subnet gets a random ULA /64;
  ///   a given IPv6 subnet turns IPv6 on.
  /// - Without `internal`, every subnet without a gateway gets its first host as gateway.
  public static func complete(
    _ network: inout Network, used: [IPNetwork], automaticSubnets: Bool,
    allocator: SubnetAllocator = SubnetAllocator()
  ) throws(NetworkError) {
    var taken = used
    var completed: [Subnet] = []
    for var subnet in network.subnets {
      subnet.subnet = subnet.subnet.masked
      try check(subnet, against: taken)
      taken.append(subnet.subnet)
      completed.append(subnet)
    }
    if completed.contains(where: { $0.subnet.isIPv6 }) { network.ipv6Enabled = true }
    if automaticSubnets {
      let hasIPv4 = completed.contains { !$0.subnet.isIPv6 }
      let hasIPv6 = completed.contains { $0.subnet.isIPv6 }
      if network.ipv6Enabled && !hasIPv6 {
        let ula = try freeUniqueLocalSubnet(avoiding: taken)
        taken.append(ula)
        completed.append(Subnet(subnet: ula))
      }
      if !hasIPv4 {
        let subnet: IPNetwork
        do {
          subnet = try allocator.firstFree(avoiding: taken)
        } catch {
          throw NetworkError(.exhausted, "could not find a free IPv4 subnet: \(error)")
        }
        taken.append(subnet)
        // Podman lists the automatic IPv4 subnet first unless the user gave only IPv6 subnets.
        if completed.isEmpty || hasIPv6 {
          completed.append(Subnet(subnet: subnet))
        } else {
          completed.insert(Subnet(subnet: subnet), at: 0)
        }
      }
    }
    if !network.internal {
      for index in completed.indices where completed[index].gateway == nil {
        completed[index].gateway = completed[index].subnet.firstHost
      }
    }
    network.subnets = completed
  }

  /// The subnets of `networks`, for collision checks.
  public static func subnets(of networks: some Sequence<Network>) -> [IPNetwork] {
    networks.flatMap { $0.subnets.map(\.subnet) }
  }

  /// The longest prefix that still leaves an address for a container besides the network address and gateway: the
  /// rule of host-local, which refuses longer ones at the first setup ("too small to allocate from"). Podman writes
  /// such networks and fails later; refusing them at create names the cause where the user made it.
  public static func longestUsablePrefix(isIPv6: Bool) -> Int { isIPv6 ? 126 : 30 }

  static func check(_ subnet: Subnet, against used: [IPNetwork]) throws(NetworkError) {
    let range = subnet.subnet
    let longest = longestUsablePrefix(isIPv6: range.isIPv6)
    if range.prefixLength > longest {
      throw NetworkError(
        .invalidArgument,
        "subnet \(range) is too small: it leaves no address for containers (use a prefix of /\(longest) or shorter)")
    }
    if let gateway = subnet.gateway, !range.contains(gateway) {
      throw NetworkError(.invalidArgument, "gateway \(gateway) not in subnet \(range)")
    }
    if let gateway = subnet.gateway, gateway.isIPv6 != range.isIPv6 {
      throw NetworkError(.invalidArgument, "gateway \(gateway) not in subnet \(range)")
    }
    if let start = subnet.leaseRange?.startIP, !range.contains(start) {
      throw NetworkError(.invalidArgument, "lease range start ip \(start) not in subnet \(range)")
    }
    if let end = subnet.leaseRange?.endIP, !range.contains(end) {
      throw NetworkError(.invalidArgument, "lease range end ip \(end) not in subnet \(range)")
    }
    if let start = subnet.leaseRange?.startIP, let end = subnet.leaseRange?.endIP, end < start {
      throw NetworkError(.invalidArgument, "lease range start ip \(start) is after end ip \(end)")
    }
    if used.contains(where: { $0.overlaps(range) }) {
      throw NetworkError.subnetUsed(range)
    }
  }

  static func freeUniqueLocalSubnet(avoiding used: [IPNetwork]) throws(NetworkError) -> IPNetwork {
    // 56 random bits make a collision astronomically unlikely; retry a few times anyway, never forever.
    for _ in 0..<16 {
      let candidate = IPNetwork.randomUniqueLocal()
      if !used.contains(where: { $0.overlaps(candidate) }) { return candidate }
    }
    throw NetworkError(.exhausted, "could not find a free IPv6 subnet")
  }

  /// A lease range from the CLI's `--ip-range`: a CIDR inside the subnet (its hosts from network+1 to its last
  /// address, as Podman stores it) or `START-END`.
  public static func leaseRange(parsing text: String) throws(NetworkError) -> LeaseRange {
    if let cidr = IPNetwork(text) {
      let masked = cidr.masked
      return LeaseRange(startIP: try? masked.host(1), endIP: masked.broadcastAddress)
    }
    let parts = text.split(separator: "-", maxSplits: 1).map(String.init)
    guard parts.count == 2, let start = IPAddress(parts[0]), let end = IPAddress(parts[1]),
      start.isIPv6 == end.isIPv6
    else {
      throw NetworkError(
        .invalidArgument, "invalid ip range \(NameValidation.displayed(text)): expected CIDR or START-END")
    }
    return LeaseRange(startIP: start, endIP: end)
  }
}
