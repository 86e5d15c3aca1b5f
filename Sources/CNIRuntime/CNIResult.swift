import OrderedJSON

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// A plugin's ADD result, in any spec version.
///
/// The value holds the union of what every version can say; ``cniVersion`` decides the JSON shape
/// (``json``). ``converted(to:)`` moves between versions the way libcni does, dropping what the target cannot
/// express: 0.1/0.2 keep one address per family and no interfaces; 0.3/0.4 and 1.0 lack the 1.1 attributes.
public struct CNIResult: Sendable, Hashable {
  /// An interface the plugin created or used.
  public struct Interface: Sendable, Hashable {
    public var name: String
    public var mac: String?
    /// 1.1.0.
    public var mtu: Int?
    /// The namespace path for a container interface; nil for host interfaces.
    public var sandbox: String?
    /// 1.1.0.
    public var socketPath: String?
    /// 1.1.0.
    public var pciID: String?

    public init(
      name: String, mac: String? = nil, mtu: Int? = nil, sandbox: String? = nil, socketPath: String? = nil,
      pciID: String? = nil
    ) {
      self.name = name
      self.mac = mac
      self.mtu = mtu
      self.sandbox = sandbox
      self.socketPath = socketPath
      self.pciID = pciID
    }
  }

  /// An address assigned to an interface.
  public struct IPConfig: Sendable, Hashable {
    /// The address with its prefix length, e.g. `10.88.0.5/16`.
    public var address: String
    public var gateway: String?
    /// The index into ``CNIResult/interfaces`` of the interface holding the address.
    public var interface: Int?

    public init(address: String, gateway: String? = nil, interface: Int? = nil) {
      self.address = address
      self.gateway = gateway
      self.interface = interface
    }

    /// "4" or "6", from the address (what 0.3.x and 0.4.0 results carry as `version`).
    public var version: String { address.contains(":") ? "6" : "4" }
  }

  /// A route to install in the container.
  public struct Route: Sendable, Hashable {
    public var destination: String
    public var gateway: String?
    /// 1.1.0 attributes.
    public var mtu: Int?
    public var advmss: Int?
    public var priority: Int?
    public var table: Int?
    public var scope: Int?

    public init(
      destination: String, gateway: String? = nil, mtu: Int? = nil, advmss: Int? = nil, priority: Int? = nil,
      table: Int? = nil, scope: Int? = nil
    ) {
      self.destination = destination
      self.gateway = gateway
      self.mtu = mtu
      self.advmss = advmss
      self.priority = priority
      self.table = table
      self.scope = scope
    }

    var isIPv6: Bool { destination.contains(":") }
  }

  /// DNS settings for the container.
  public struct DNS: Sendable, Hashable {
    public var nameservers: [String]
    public var domain: String?
    public var search: [String]
    public var options: [String]

    public init(nameservers: [String] = [], domain: String? = nil, search: [String] = [], options: [String] = []) {
      self.nameservers = nameservers
      self.domain = domain
      self.search = search
      self.options = options
    }
  }

  public var cniVersion: String
  public var interfaces: [Interface]
  public var ips: [IPConfig]
  public var routes: [Route]
  public var dns: DNS

  public init(
    cniVersion: String, interfaces: [Interface] = [], ips: [IPConfig] = [], routes: [Route] = [], dns: DNS = DNS()
  ) {
    self.cniVersion = cniVersion
    self.interfaces = interfaces
    self.ips = ips
    self.routes = routes
    self.dns = dns
  }
}

// MARK: - Parsing

extension CNIResult {
  /// Parses a result; one without `cniVersion` is read as `defaultVersion` (the configuration's version).
  public init(data: some Collection<UInt8>, defaultVersion: String) throws(CNIError) {
    let value: JSONValue
    do { value = try JSONValue.parse(data) } catch {
      throw CNIError(.invalidOutput, message: "decoding result", details: error.description)
    }
    try self.init(json: value, defaultVersion: defaultVersion)
  }

  /// Reads a result from parsed JSON; see ``init(data:defaultVersion:)``.
  public init(json value: JSONValue, defaultVersion: String) throws(CNIError) {
    guard case .object(let object) = value else {
      throw CNIError(.invalidOutput, message: "decoding result", details: "expected an object, found \(value.kindName)")
    }
    var version = defaultVersion
    if let versionValue = object["cniVersion"] {
      guard let text = versionValue.stringValue else {
        throw CNIError(.invalidOutput, message: "decoding result", details: "cniVersion is not a string")
      }
      if !text.isEmpty { version = text }
    }
    guard let family = CNIVersion.family(of: version) else {
      throw CNIError(
        .incompatibleVersion, code: .incompatibleCNIVersion, message: "unsupported CNI result version \"\(version)\"")
    }
    let reader = FieldReader()
    self.init(cniVersion: version)
    dns = try reader.dns(object["dns"])
    switch family {
    case .legacy:
      // As libcni converts 0.2.0 upwards: each family's address, its routes appended in order.
      for key in ["ip4", "ip6"] {
        guard let ipValue = object[key], ipValue != .null else { continue }
        let ipObject = try reader.object(ipValue, key)
        ips.append(
          IPConfig(
            address: try reader.cidr(ipObject["ip"], "\(key).ip"),
            gateway: try reader.optionalIP(ipObject["gateway"], "\(key).gateway")))
        for route in try reader.array(ipObject["routes"], "\(key).routes") {
          routes.append(try reader.route(route))
        }
      }
    case .v04, .v1:
      for element in try reader.array(object["interfaces"], "interfaces") {
        let item = try reader.object(element, "interfaces")
        interfaces.append(
          Interface(
            name: try reader.string(item["name"], "interfaces.name") ?? "",
            mac: try reader.string(item["mac"], "interfaces.mac"),
            mtu: try reader.int(item["mtu"], "interfaces.mtu"),
            sandbox: try reader.string(item["sandbox"], "interfaces.sandbox"),
            socketPath: try reader.string(item["socketPath"], "interfaces.socketPath"),
            pciID: try reader.string(item["pciID"], "interfaces.pciID")))
      }
      for element in try reader.array(object["ips"], "ips") {
        let item = try reader.object(element, "ips")
        ips.append(
          IPConfig(
            address: try reader.cidr(item["address"], "ips.address"),
            gateway: try reader.optionalIP(item["gateway"], "ips.gateway"),
            interface: try reader.int(item["interface"], "ips.interface")))
      }
      for element in try reader.array(object["routes"], "routes") {
        routes.append(try reader.route(element))
      }
    }
  }

  private struct FieldReader {
    func failure(_ field: String, _ problem: String) -> CNIError {
      CNIError(.invalidOutput, message: "decoding result", details: "\(field): \(problem)")
    }

    func object(_ value: JSONValue, _ field: String) throws(CNIError) -> JSONObject {
      guard let object = value.objectValue else { throw failure(field, "expected an object") }
      return object
    }

    func array(_ value: JSONValue?, _ field: String) throws(CNIError) -> [JSONValue] {
      switch value {
      case nil, .null?: return []
      case .array(let elements)?: return elements
      default: throw failure(field, "expected an array")
      }
    }

    func string(_ value: JSONValue?, _ field: String) throws(CNIError) -> String? {
      switch value {
      case nil, .null?: return nil
      case .string(let text)?: return text.isEmpty ? nil : text
      default: throw failure(field, "expected a string")
      }
    }

    func strings(_ value: JSONValue?, _ field: String) throws(CNIError) -> [String] {
      try array(value, field).map { (element) throws(CNIError) -> String in
        guard let text = element.stringValue else { throw failure(field, "expected strings") }
        return text
      }
    }

    func int(_ value: JSONValue?, _ field: String) throws(CNIError) -> Int? {
      switch value {
      case nil, .null?: return nil
      case .number(let text)?:
        guard let number = Int(text) else { throw failure(field, "expected an integer, found \(text)") }
        return number
      default: throw failure(field, "expected a number")
      }
    }

    func cidr(_ value: JSONValue?, _ field: String) throws(CNIError) -> String {
      guard let text = try string(value, field) else { throw failure(field, "missing address") }
      guard CNIResult.isValidCIDR(text) else { throw failure(field, "invalid CIDR address \(text)") }
      return text
    }

    func optionalIP(_ value: JSONValue?, _ field: String) throws(CNIError) -> String? {
      guard let text = try string(value, field) else { return nil }
      guard CNIResult.isValidIP(text) else { throw failure(field, "invalid IP address \(text)") }
      return text
    }

    func route(_ value: JSONValue) throws(CNIError) -> Route {
      let item = try object(value, "routes")
      return Route(
        destination: try cidr(item["dst"], "routes.dst"),
        gateway: try optionalIP(item["gw"], "routes.gw"),
        mtu: try int(item["mtu"], "routes.mtu"),
        advmss: try int(item["advmss"], "routes.advmss"),
        priority: try int(item["priority"], "routes.priority"),
        table: try int(item["table"], "routes.table"),
        scope: try int(item["scope"], "routes.scope"))
    }

    func dns(_ value: JSONValue?) throws(CNIError) -> DNS {
      guard let value, value != .null else { return DNS() }
      let item = try object(value, "dns")
      return DNS(
        nameservers: try strings(item["nameservers"], "dns.nameservers"),
        domain: try string(item["domain"], "dns.domain"),
        search: try strings(item["search"], "dns.search"),
        options: try strings(item["options"], "dns.options"))
    }
  }

  static func isValidIP(_ text: String) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 16)
    let family = text.contains(":") ? AF_INET6 : AF_INET
    return inet_pton(family, text, &buffer) == 1
  }

  static func isValidCIDR(_ text: String) -> Bool {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, isValidIP(String(parts[0])), let length = Int(parts[1]), length >= 0 else { return false }
    return length <= (parts[0].contains(":") ? 128 : 32)
  }
}

// MARK: - Conversion and encoding

extension CNIResult {
  /// The result as `version` would carry it, or an error when that version cannot express it.
  public func converted(to version: String) throws(CNIError) -> CNIResult {
    guard let family = CNIVersion.family(of: version) else {
      throw CNIError(
        .incompatibleVersion, code: .incompatibleCNIVersion, message: "cannot convert result to version \"\(version)\"")
    }
    var result = self
    result.cniVersion = version
    switch family {
    case .legacy:
      let ip4 = ips.first { $0.version == "4" }
      let ip6 = ips.first { $0.version == "6" }
      guard ip4 != nil || ip6 != nil else {
        throw CNIError(
          .incompatibleVersion, message: "cannot convert result to version \(version): no valid IP addresses")
      }
      result.interfaces = []
      result.ips = [ip4, ip6].compactMap { $0.map { IPConfig(address: $0.address, gateway: $0.gateway) } }
      result.routes = routes.filter { $0.isIPv6 ? ip6 != nil : ip4 != nil }.map {
        Route(destination: $0.destination, gateway: $0.gateway)
      }
    case .v04:
      result.dropV11Attributes()
    case .v1:
      if version == "1.0.0" { result.dropV11Attributes() }
    }
    return result
  }

  private mutating func dropV11Attributes() {
    interfaces = interfaces.map { Interface(name: $0.name, mac: $0.mac, sandbox: $0.sandbox) }
    routes = routes.map { Route(destination: $0.destination, gateway: $0.gateway) }
  }

  /// The JSON a plugin of ``cniVersion`` would print, keys in the order of libcni's types.
  public var json: JSONValue {
    var object = JSONObject()
    object["cniVersion"] = .string(cniVersion)
    let family = CNIVersion.family(of: cniVersion) ?? .v1
    if family == .legacy {
      for (key, ipVersion) in [("ip4", "4"), ("ip6", "6")] {
        guard let ip = ips.first(where: { $0.version == ipVersion }) else { continue }
        var ipObject = JSONObject()
        ipObject["ip"] = .string(ip.address)
        if let gateway = ip.gateway { ipObject["gateway"] = .string(gateway) }
        let familyRoutes = routes.filter { ($0.isIPv6 ? "6" : "4") == ipVersion }
        if !familyRoutes.isEmpty { ipObject["routes"] = .array(familyRoutes.map { Self.encode($0) }) }
        object[key] = .object(ipObject)
      }
    } else {
      if !interfaces.isEmpty {
        object["interfaces"] = .array(
          interfaces.map { interface in
            var item = JSONObject()
            item["name"] = .string(interface.name)
            if let mac = interface.mac { item["mac"] = .string(mac) }
            if let mtu = interface.mtu { item["mtu"] = .integer(mtu) }
            if let sandbox = interface.sandbox { item["sandbox"] = .string(sandbox) }
            if let socketPath = interface.socketPath { item["socketPath"] = .string(socketPath) }
            if let pciID = interface.pciID { item["pciID"] = .string(pciID) }
            return .object(item)
          })
      }
      if !ips.isEmpty {
        object["ips"] = .array(
          ips.map { ip in
            var item = JSONObject()
            if family == .v04 { item["version"] = .string(ip.version) }
            if let interface = ip.interface { item["interface"] = .integer(interface) }
            item["address"] = .string(ip.address)
            if let gateway = ip.gateway { item["gateway"] = .string(gateway) }
            return .object(item)
          })
      }
      if !routes.isEmpty { object["routes"] = .array(routes.map { Self.encode($0) }) }
    }
    var dnsObject = JSONObject()
    if !dns.nameservers.isEmpty { dnsObject["nameservers"] = .array(dns.nameservers.map { .string($0) }) }
    if let domain = dns.domain { dnsObject["domain"] = .string(domain) }
    if !dns.search.isEmpty { dnsObject["search"] = .array(dns.search.map { .string($0) }) }
    if !dns.options.isEmpty { dnsObject["options"] = .array(dns.options.map { .string($0) }) }
    object["dns"] = .object(dnsObject)
    return .object(object)
  }

  private static func encode(_ route: Route) -> JSONValue {
    var item = JSONObject()
    item["dst"] = .string(route.destination)
    if let gateway = route.gateway { item["gw"] = .string(gateway) }
    if let mtu = route.mtu { item["mtu"] = .integer(mtu) }
    if let advmss = route.advmss { item["advmss"] = .integer(advmss) }
    if let priority = route.priority { item["priority"] = .integer(priority) }
    if let table = route.table { item["table"] = .integer(table) }
    if let scope = route.scope { item["scope"] = .integer(scope) }
    return .object(item)
  }
}

extension CNIResult {
  /// The index of the interface called `name` in ``interfaces``.
  public func interfaceIndex(_ name: String) -> Int? {
    interfaces.firstIndex { $0.name == name }
  }

  /// The addresses of the interface called `name` (with an address that names no interface counting as its, as
  /// results of single-interface plugins often leave it out).
  public func ips(ofInterface name: String) -> [IPConfig] {
    let own = interfaceIndex(name)
    return ips.filter { $0.interface == nil || $0.interface == own }
  }
}
