import ContainerNetworkCore
import NetworkAddress
import Testing

@Suite struct NetworkFiltersTests {
  let networks: [Network] = [
    Network(
      name: "web", id: NetworkID.of(name: "web"), driver: "bridge",
      created: Timestamp(seconds: 1000), labels: ["team": "net", "env": "prod"]),
    Network(
      name: "db", id: NetworkID.of(name: "db"), driver: "macvlan",
      created: Timestamp(seconds: 2000), labels: ["team": "data"]),
    Network(name: "webhooks", id: NetworkID.of(name: "webhooks"), driver: "bridge", created: Timestamp(seconds: 3000)),
  ]

  func names(_ expressions: [String]) throws -> [String] {
    let filters = try NetworkFilters(parsing: expressions)
    return networks.filter { filters.matches($0, now: Timestamp(seconds: 4000)) }.map(\.name)
  }

  @Test(arguments: [
    (["name=web"], ["web", "webhooks"]),
    (["name=^web$"], ["web"]),
    (["name=db", "name=hooks"], ["db", "webhooks"]),
    (["driver=macvlan"], ["db"]),
    (["driver=bridge", "name=hooks"], ["webhooks"]),
    (["label=team"], ["web", "db"]),
    (["label=team=net"], ["web"]),
    (["label=team=net", "label=team=data"], ["web", "db"]),
    (["label=team", "driver=bridge"], ["web"]),
    (["until=1970-01-01T00:41:40Z"], ["web", "db"]),
    (["until=2500"], ["web", "db"]),
    (["until=30m"], ["web", "db"]),
    ([], ["web", "db", "webhooks"]),
  ])
  func filtersCombine(expressions: [String], expected: [String]) throws {
    #expect(try names(expressions) == expected)
  }

  @Test func idFilterIsAPrefix() throws {
    let prefix = String(NetworkID.of(name: "db").prefix(5))
    #expect(try names(["id=\(prefix)"]) == ["db"])
  }

  @Test(arguments: ["color=red", "noequals", "name=(", "until=yesterday"])
  func badFiltersAreErrors(expression: String) {
    let error = #expect(throws: NetworkError.self) { try NetworkFilters(parsing: [expression]) }
    #expect(error?.code == .invalidArgument)
  }
}
