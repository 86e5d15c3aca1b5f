import ContainerNetworkCore
import NetworkAddress

/// The addresses of one subnet that IPAM may hand out, and the sequential search through them.
///
/// The rules are Podman's netavark IPAM (`libnetwork/netavark/ipam.go`): the lease range if the subnet has one,
/// else the whole subnet; never the subnet's own address, never an IPv4 broadcast address, never the gateway; and
/// the search starts after the last address handed out, wrapping around, so that an address just released is the
/// last to be reused.
public struct AddressRange: Hashable, Sendable {
  public let subnet: Subnet
  /// The first and last candidate, as values of the subnet's address family.
  public let first: UInt128
  public let last: UInt128

  /// nil when the lease range leaves no address (or lies outside the subnet).
  public init?(_ subnet: Subnet) {
    self.subnet = subnet
    let network = subnet.subnet.masked
    var low = network.networkAddress.value + 1
    var high = network.isIPv4 ? network.broadcastAddress.value - 1 : network.broadcastAddress.value
    if network.isIPv4 && network.prefixLength >= 31 { return nil }
    if let start = subnet.leaseRange?.startIP {
      guard network.contains(start) else { return nil }
      low = max(low, start.value)
    }
    if let end = subnet.leaseRange?.endIP {
      guard network.contains(end) else { return nil }
      high = min(high, end.value)
    }
    guard low <= high else { return nil }
    first = low
    last = high
  }

  /// How many addresses the range holds, the gateway included.
  public var count: UInt128 { last - first + 1 }

  /// Whether `address` may be handed out: inside the range and not the gateway.
  public func admits(_ address: IPAddress) -> Bool {
    address.isIPv4 == subnet.subnet.isIPv4 && address.value >= first && address.value <= last
      && address != subnet.gateway
  }

  /// The first address after `previous` (or from the start) that is neither the gateway nor `isTaken`, wrapping
  /// once around the range; nil when every address is taken.
  public func nextFree(after previous: IPAddress?, isTaken: (IPAddress) -> Bool) -> IPAddress? {
    let template = subnet.subnet.networkAddress
    var start = first
    if let previous, previous.isIPv4 == template.isIPv4, previous.value >= first, previous.value < last {
      start = previous.value + 1
    }
    var value = start
    var remaining = count
    while remaining > 0 {
      let candidate = template.withValue(value)
      if candidate != subnet.gateway && !isTaken(candidate) { return candidate }
      value = value == last ? first : value + 1
      remaining -= 1
    }
    return nil
  }
}
