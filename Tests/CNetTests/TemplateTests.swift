import ContainerNetworkCore
import NetworkAddress
import Testing

@testable import CNetCommands

/// The Go-template subset of `ls --format` and `inspect --format`, and the tabwriter layout of tables.
@Suite struct TemplateTests {
  static let network = Network(
    name: "web", id: "0d896d80a02007064b34ad76d1fac8d20accfb9da3ebf28b0da9186e9dee5d9b", driver: "bridge",
    networkInterface: "cni-podman1", created: Timestamp(rfc3339: "2026-11-29T01:06:03.592050558Z"),
    subnets: [
      Subnet(
        subnet: IPNetwork("10.89.0.0/24")!, gateway: IPAddress("10.89.0.1"),
        leaseRange: LeaseRange(startIP: IPAddress("10.89.0.10"), endIP: IPAddress("10.89.0.20")))
    ],
    internal: false, dnsEnabled: true, labels: ["team": "net", "env": "bench"],
    ipamOptions: ["driver": "host-local"])

  static let renderings: [(String, String)] = [
    ("{{.Name}}", "web"),
    ("{{ .Name }}", "web"),
    ("{{.ID}}", "0d896d80a02007064b34ad76d1fac8d20accfb9da3ebf28b0da9186e9dee5d9b"),
    ("{{.Driver}}", "bridge"),
    ("{{.NetworkInterface}}", "cni-podman1"),
    ("{{.Subnets}}", "[{10.89.0.0/24 10.89.0.1 &{10.89.0.10 10.89.0.20}}]"),
    ("{{.Labels}}", "map[env:bench team:net]"),
    ("{{.Options}}", "map[]"),
    ("{{.IPAMOptions}}", "map[driver:host-local]"),
    ("{{.Internal}}", "false"),
    ("{{.DNSEnabled}}", "true"),
    ("{{.IPv6Enabled}}", "false"),
    ("{{.NetworkDNSServers}}", "[]"),
    ("{{.Created}}", "2026-11-29 01:06:03.592050558 +0000 UTC"),
    ("name={{.Name}} driver={{.Driver}}!", "name=web driver=bridge!"),
    ("{{.Name}}\\t{{.Driver}}", "web\tbridge"),
    ("{{.Name}}\\n{{.Driver}}", "web\nbridge"),
    ("no actions", "no actions"),
    ("{{json .Name}}", "\"web\""),
    ("{{json .Labels}}", "{\"env\":\"bench\",\"team\":\"net\"}"),
    ("{{json .Internal}}", "false"),
    (
      "{{json .Subnets}}",
      "[{\"subnet\":\"10.89.0.0/24\",\"gateway\":\"10.89.0.1\",\"lease_range\":{\"start_ip\":\"10.89.0.10\",\"end_ip\":\"10.89.0.20\"}}]"
    ),
  ]

  @Test(arguments: renderings)
  func renders(_ format: String, _ expected: String) throws {
    #expect(try NetworkTemplate(format).render(Self.network) == expected)
  }

  @Test func jsonOfTheWholeNetworkIsCompactPodmanJSON() throws {
    let text = try NetworkTemplate("{{json .}}").render(Self.network)
    #expect(!text.contains("\n"))
    #expect(text.hasPrefix("{\"name\":\"web\",\"id\":\"0d896d80a020"))
    #expect(text.contains("\"network_interface\":\"cni-podman1\""))
    #expect(text.contains("\"labels\":{\"env\":\"bench\",\"team\":\"net\"}"))
    #expect(text.contains("\"dns_enabled\":true"))
  }

  @Test func tableTemplatesHaveAHeader() throws {
    let template = try NetworkTemplate("table {{.ID}}\\t{{.Name}}\\t{{.Driver}}")
    #expect(template.isTable)
    #expect(template.header == "NETWORK ID\tNAME\tDRIVER")
    #expect(try !NetworkTemplate("{{.Name}}").isTable)
    #expect(try NetworkTemplate("table {{json .}}").header == "JSON")
  }

  static let invalidTemplates: [(String, String)] = [
    ("{{.Nope}}", "template: can't evaluate field Nope in type types.Network"),
    ("{{.Name", "template: unclosed action"),
    ("{{printf \"%s\" .Name}}", "template: unsupported action"),
    ("{{json}}", "template: unsupported action"),
    ("{{json .Nope}}", "template: unsupported action"),
    ("{{}}", "template: unsupported action"),
  ]

  @Test(arguments: invalidTemplates)
  func rejects(_ format: String, _ prefix: String) {
    #expect {
      try NetworkTemplate(format)
    } throws: { error in
      (error as? NetworkError)?.message.hasPrefix(prefix) == true
    }
  }

  @Test func tableColumnsFollowGoTabwriter() {
    // Minimum cell width 12 including the padding of 2; the last column is never padded.
    #expect(
      OutputFormatting.table([["NETWORK ID", "NAME", "DRIVER"], ["90bb416196f3", "pb-label", "bridge"]])
        == "NETWORK ID    NAME        DRIVER\n90bb416196f3  pb-label    bridge")
    #expect(
      OutputFormatting.table([["a", "b"], ["a-very-long-name", "c"]]) == "a                 b\na-very-long-name  c")
    #expect(OutputFormatting.aligned(["x\ty", "longer-than-12\tz"]) == "x               y\nlonger-than-12  z")
    #expect(OutputFormatting.aligned(["no tabs", "here"]) == "no tabs\nhere")
  }
}
