import NetworkAddress

/// Podman's rules for a network's static routes, shared by every backend.
public enum RouteValidation {
  /// Podman's `--route DESTINATION,GATEWAY[,METRIC]`.
  public static func parse(_ text: String) throws(NetworkError) -> Route {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    let shown = NameValidation.displayed(text)
    let format = "format: --route <destination in CIDR>,<gateway>,<metric (optional)>"
    guard parts.count == 2 || parts.count == 3 else {
      throw NetworkError(.invalidArgument, "invalid route \(shown): \(format)")
    }
    guard let destination = IPNetwork(parts[0]) else {
      throw NetworkError(.invalidArgument, "invalid route destination \(NameValidation.displayed(parts[0])): \(format)")
    }
    guard let gateway = IPAddress(parts[1]) else {
      throw NetworkError(.invalidArgument, "invalid route gateway \(NameValidation.displayed(parts[1])): \(format)")
    }
    var metric: UInt32?
    if parts.count == 3 {
      guard let value = UInt32(parts[2]) else {
        throw NetworkError(.invalidArgument, "invalid route metric \(NameValidation.displayed(parts[2])): \(format)")
      }
      metric = value
    }
    return Route(destination: destination.masked, gateway: gateway, metric: metric)
  }

  /// A unicast route needs a gateway of the destination's family; blackhole, unreachable and prohibit routes go
  /// nowhere, so they take none.
  public static func validate(_ routes: [Route]) throws(NetworkError) {
    for route in routes {
      switch (route.routeType, route.gateway) {
      case (.unicast, nil):
        throw NetworkError(.invalidArgument, "route to \(route.destination) needs a gateway")
      case (.unicast, let gateway?) where gateway.isIPv6 != route.destination.isIPv6:
        throw NetworkError(
          .invalidArgument, "route to \(route.destination): gateway \(gateway) is of another IP family")
      case (let type, _?) where type != .unicast:
        throw NetworkError(
          .invalidArgument, "\(type.rawValue) route to \(route.destination) must not have a gateway")
      default:
        break
      }
    }
  }
}
