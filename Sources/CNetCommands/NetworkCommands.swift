import ArgumentParser
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import NetworkAddress
import OrderedJSON

struct Create: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a network; prints its name.")

  @OptionGroup var global: GlobalOptions
  @Option(name: [.short, .customLong("driver")], help: "bridge, macvlan or ipvlan.") var driver: String = "bridge"
  @Option(help: "Subnet in CIDR notation; repeat for several.") var subnet: [String] = []
  @Option(help: "Gateway of the subnet given at the same position.") var gateway: [String] = []
  @Option(name: .customLong("ip-range"), help: "Lease range (CIDR or START-END) of the subnet at the same position.")
  var ipRange: [String] = []
  @Flag(help: "Enable IPv6 (adds a ULA subnet when none is given).") var ipv6 = false
  @Flag(help: "No route out: no masquerading, no default route (and no gateway with --disable-dns).")
  var `internal` = false
  @Flag(name: .customLong("disable-dns"), help: "Do not add the DNS plugin.") var disableDNS = false
  @Option(help: "Upstream DNS server for the network's containers; repeat, or a comma list (netavark backend).")
  var dns: [String] = []
  @Option(help: "KEY=VALUE label; repeat for several.") var label: [String] = []
  @Option(help: "DESTINATION,GATEWAY[,METRIC] static route for the containers; repeat for several (native backend).")
  var route: [String] = []
  @Option(
    name: [.short, .customLong("opt")],
    help: "KEY=VALUE driver option (mtu, vlan, isolate, mode, parent, metric, no_default_route, vrf).")
  var opt: [String] = []
  @Option(name: .customLong("interface-name"), help: "Bridge name, or parent for macvlan/ipvlan.")
  var interfaceName: String?
  @Option(name: .customLong("ipam-driver"), help: "host-local, dhcp or none.") var ipamDriver: String?
  @Flag(help: "Succeed without changes when the network exists.") var ignore = false
  @Argument(help: "Network name (default: the next free podmanN, or cni-podmanN with CNI).") var name: String?

  func run() async throws {
    var network = Network(name: name ?? "", driver: driver, internal: `internal`, dnsEnabled: !disableDNS)
    network.ipv6Enabled = ipv6
    network.networkInterface = interfaceName ?? ""
    if let ipamDriver { network.ipamOptions["driver"] = ipamDriver }
    guard !subnet.isEmpty || (gateway.isEmpty && ipRange.isEmpty) else {
      throw NetworkError(.invalidArgument, "cannot set gateway or range without subnet")
    }
    guard gateway.count <= subnet.count else {
      throw NetworkError(.invalidArgument, "cannot set more gateways than subnets")
    }
    guard ipRange.count <= subnet.count else {
      throw NetworkError(.invalidArgument, "cannot set more ranges than subnets")
    }
    for (index, text) in subnet.enumerated() {
      guard let cidr = IPNetwork(text) else {
        throw NetworkError(.invalidArgument, "invalid subnet \(NameValidation.displayed(text))")
      }
      var entry = Subnet(subnet: cidr)
      if index < gateway.count {
        guard let ip = IPAddress(gateway[index]) else {
          throw NetworkError(.invalidArgument, "invalid gateway \(NameValidation.displayed(gateway[index]))")
        }
        entry.gateway = ip
      }
      if index < ipRange.count { entry.leaseRange = try SubnetPlanning.leaseRange(parsing: ipRange[index]) }
      network.subnets.append(entry)
    }
    network.networkDNSServers = try DNSServerList.parse(dns)
    network.routes = try route.map { text throws(NetworkError) in try RouteValidation.parse(text) }
    network.labels = try keyValues(label, what: "label")
    network.options = try keyValues(opt, what: "option")
    let created = try await global.makeBackend().create(network, options: CreateOptions(returnExisting: ignore))
    print(created.name)
  }
}

/// Parses repeated KEY=VALUE flags; a key without `=` gets an empty value, as Podman does for labels.
func keyValues(_ items: [String], what: String) throws -> [String: String] {
  var result: [String: String] = [:]
  for item in items {
    let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    guard !parts[0].isEmpty else {
      throw NetworkError(.invalidArgument, "invalid \(what) \(NameValidation.displayed(item))")
    }
    result[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
  }
  return result
}

struct List: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ls", abstract: "List networks.", aliases: ["list"])

  @OptionGroup var global: GlobalOptions
  @Option(
    name: [.short, .customLong("filter")],
    help: "KEY=VALUE: name, id, driver, label, label!, until, dangling (true: no live container uses it).")
  var filter: [String] = []
  @Option(help: "json, table, or a Go template such as {{.Name}}.") var format: String?
  @Flag(name: [.short, .customLong("quiet")], help: "Print names only.") var quiet = false
  @Flag(name: .customLong("no-trunc"), help: "Print full network IDs.") var noTrunc = false
  @Flag(name: [.short, .customLong("noheading")], help: "Leave out the table's heading.") var noHeading = false

  func run() async throws {
    let filters = try NetworkFilters(parsing: filter)
    let networks = try await global.makeBackend().list(filters: filters)
    if quiet {
      for network in networks { print(network.name) }
      return
    }
    switch format {
    case "json"?:
      print(try OutputFormatting.json(networks, indent: "  "))
    case nil, "table"?:
      var rows = noHeading ? [] : [["NETWORK ID", "NAME", "DRIVER"]]
      for network in networks {
        rows.append([noTrunc ? network.id : String(network.id.prefix(12)), network.name, network.driver])
      }
      if !rows.isEmpty { print(OutputFormatting.table(rows)) }
    case let template?:
      let parsed = try NetworkTemplate(template)
      var lines = parsed.isTable && !noHeading ? [parsed.header] : []
      for network in networks { lines.append(try parsed.render(network, as: .listed(noTrunc: noTrunc))) }
      // Podman writes templates through a tabwriter: `\t` separates aligned columns.
      if !lines.isEmpty { print(OutputFormatting.aligned(lines)) }
    }
  }
}

struct Inspect: AsyncParsableCommand {
  /// The networks as JSON, each with the containers attached to it as Podman 5 shows them: a `containers` map keyed
  /// by container ID, with the name and the interfaces. Left out when no container is attached, so that the output
  /// stays Podman 4.3's byte for byte.
  static func report(_ networks: [Network], attached: [AttachedContainer]) throws -> String {
    let encoder = JSONValueEncoder()
    var values: [JSONValue] = []
    for network in networks {
      guard case .object(var object) = try encoder.encode(network) else { continue }
      var containers = JSONObject()
      for container in attached.sorted(by: { $0.id < $1.id }) {
        guard let interface = container.networks[network.name] else { continue }
        containers[container.id] = .object([
          "name": .string(container.name),
          "interfaces": .object([interface.name: try encoder.encode(interface.interface)]),
        ])
      }
      if !containers.isEmpty { object["containers"] = .object(containers) }
      values.append(.object(object))
    }
    return String(decoding: GoJSONFormat.indented(.array(values), indent: "     "), as: UTF8.self)
  }

  static let configuration = CommandConfiguration(
    commandName: "inspect", abstract: "Show networks as JSON (the same as podman network inspect).")

  @OptionGroup var global: GlobalOptions
  @Option(name: [.short, .customLong("format")], help: "A Go template such as {{.Name}}, or json.") var format: String?
  @Argument(help: "Network names or IDs.") var networks: [String]

  func validate() throws {
    if networks.isEmpty { throw ValidationError("inspect needs at least one network name or ID") }
  }

  func run() async throws {
    let backend = try global.makeBackend()
    var found: [Network] = []
    var failure: NetworkError?
    for name in networks {
      do {
        found.append(try await backend.inspect(name))
      } catch let error as NetworkError {
        failure = NetworkError(error.code, "network \(name): \(error.message)")
      }
    }
    if let format, format != "json" {
      let template = try NetworkTemplate(format)
      for network in found { print(try template.render(network)) }
    } else {
      print(try Self.report(found, attached: try await backend.attachedContainers()))
    }
    if let failure { throw NetworkError(failure.code, "inspecting object: \(failure.message)") }
  }
}

struct Remove: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rm", abstract: "Remove networks; prints each removed name.", aliases: ["remove"])

  @OptionGroup var global: GlobalOptions
  @Flag(name: [.short, .customLong("force")], help: "Disconnect attached containers first.") var force = false
  @Option(
    name: [.short, .customLong("time")],
    help: "Seconds Podman waits for containers to stop; accepted for scripts, cnet stops no containers.")
  var time: Int?
  @Argument(help: "Network names or IDs.") var networks: [String]

  func validate() throws {
    if networks.isEmpty { throw ValidationError("rm needs at least one network name or ID") }
    if let time, time < 0 { throw ValidationError("--time must be 0 or more seconds") }
  }

  func run() async throws {
    let backend = try global.makeBackend()
    var failures: [NetworkError] = []
    for name in networks {
      do {
        try await backend.remove(name, force: force)
        print(name)
      } catch let error as NetworkError {
        failures.append(error)
      }
    }
    guard let last = failures.last else { return }
    for error in failures.dropLast() { printError(error.message) }
    // Podman 5 exits 1 when a network does not exist, 2 when it is in use, 125 for other failures.
    let status: Int32 =
      switch last.code {
      case .notFound: 1
      case .inUse: 2
      default: 125
      }
    throw CommandFailure(message: last.message, status: status)
  }
}

struct Prune: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove every network no container uses (not the default).")

  @OptionGroup var global: GlobalOptions
  @Flag(name: [.short, .customLong("force")], help: "Do not ask for confirmation.") var force = false
  @Option(name: .customLong("filter"), help: "KEY=VALUE: name, id, driver, label, label!, until.")
  var filter: [String] = []

  func run() async throws {
    let filters = try NetworkFilters(parsing: filter)
    if !force {
      writeStandardError(
        "WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] "
      )
      let answer = readLine()?.lowercased() ?? ""
      guard answer == "y" || answer == "yes" else { return }
    }
    for name in try await global.makeBackend().prune(filters: filters) { print(name) }
  }
}

struct Exists: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exists", abstract: "Exit 0 when the network exists, 1 when not.")

  @OptionGroup var global: GlobalOptions
  @Argument(help: "Network name or ID.") var network: String

  func run() async throws {
    do {
      _ = try await global.makeBackend().inspect(network)
    } catch let error as NetworkError where error.code == .notFound {
      throw ExitCode(1)
    }
  }
}

struct Update: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a network's DNS servers.")

  @OptionGroup var global: GlobalOptions
  @Option(name: .customLong("dns-add"), help: "DNS servers to add (repeatable, or a comma list).")
  var dnsAdd: [String] = []
  @Option(name: .customLong("dns-drop"), help: "DNS servers to remove (repeatable, or a comma list).")
  var dnsDrop: [String] = []
  @Argument(help: "Network name or ID.") var network: String

  func run() async throws {
    // Checked before the backend is made, so that a typo fails the same way whatever the backend.
    let options = try NetworkUpdateOptions(addDNSServers: dnsAdd, removeDNSServers: dnsDrop).normalized()
    try await global.makeBackend().update(network, options: options)
    print(network)
  }
}
