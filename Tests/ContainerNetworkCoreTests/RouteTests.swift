import ContainerNetworkCore
import Foundation
import NetworkAddress
import Testing

/// Routes as Podman 5 writes them: an optional gateway and a route type.
@Suite struct RouteTests {
  @Test(arguments: [
    (
      #"{"destination":"10.21.0.0/24","gateway":"10.19.12.250","metric":100}"#, String?("10.19.12.250"),
      RouteType.unicast
    ),
    (#"{"destination":"10.21.0.0/24","route_type":"blackhole"}"#, nil, .blackhole),
    (#"{"destination":"192.168.100.0/24","route_type":"unreachable"}"#, nil, .unreachable),
    (#"{"destination":"fd00:1::/64","route_type":"prohibit"}"#, nil, .prohibit),
  ])
  func decodesAndEncodesBack(json: String, gateway: String?, type: RouteType) throws {
    let route = try JSONDecoder().decode(Route.self, from: Data(json.utf8))
    #expect(route.gateway?.description == gateway)
    #expect(route.routeType == type)
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let again = String(decoding: try encoder.encode(route), as: UTF8.self)
    let original = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary
    let reencoded = try JSONSerialization.jsonObject(with: Data(again.utf8)) as? NSDictionary
    // Unicast stays implicit, so that readers without route types (netavark 1.4) accept the file.
    #expect(original == reencoded, "\(again)")
  }

  @Test(arguments: [
    (Route(destination: IPNetwork("10.1.0.0/24")!), "route to 10.1.0.0/24 needs a gateway"),
    (
      Route(destination: IPNetwork("10.1.0.0/24")!, gateway: IPAddress("fd00::1")!),
      "route to 10.1.0.0/24: gateway fd00::1 is of another IP family"
    ),
    (
      Route(destination: IPNetwork("10.1.0.0/24")!, gateway: IPAddress("10.0.0.1")!, routeType: .blackhole),
      "blackhole route to 10.1.0.0/24 must not have a gateway"
    ),
  ])
  func invalidRoutesAreRefused(route: Route, message: String) {
    let error = #expect(throws: NetworkError.self) { try RouteValidation.validate([route]) }
    #expect(error?.message == message)
  }

  @Test func validRoutesPass() throws {
    try RouteValidation.validate([
      Route(destination: IPNetwork("10.1.0.0/24")!, gateway: IPAddress("10.0.0.1")!, metric: 5),
      Route(destination: IPNetwork("10.2.0.0/24")!, routeType: .unreachable),
    ])
  }
}
