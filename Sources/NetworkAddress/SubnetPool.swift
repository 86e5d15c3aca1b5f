/// A range that new networks' subnets are carved out of, each `/size` (one entry of containers.conf's
/// `default_subnet_pools`).
public struct SubnetPool: Sendable, Hashable {
  /// The range subnets are taken from: IPv4, as Podman allocates only IPv4 subnets from pools.
  public var base: IPNetwork
  /// The prefix length of each subnet handed out, from `base.prefixLength` to 32.
  public var size: Int

  /// A pool of `/size` subnets within `base`; the values are not checked here.
  public init(base: IPNetwork, size: Int) {
    self.base = base
    self.size = size
  }
}
