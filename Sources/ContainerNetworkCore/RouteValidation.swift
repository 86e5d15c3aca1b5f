import NetworkAddress

/// Podman's rules for a network's static routes, shared by every backend.
public enum RouteValidation {
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
