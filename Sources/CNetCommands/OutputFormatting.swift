import CNIBackend
import CNIRuntime
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import NetworkAddress
import OrderedJSON

/// How `cnet` prints networks: Podman's JSON layouts, its table, and the Go-template subset people use.
enum OutputFormatting {
  /// JSON of an `Encodable` value laid out like Go's `json.MarshalIndent` with `indent`.
  static func json(_ value: some Encodable, indent: String) throws -> String {
    let tree = try JSONValueEncoder().encode(value)
    return String(decoding: GoJSONFormat.indented(tree, indent: indent), as: UTF8.self)
  }

  /// Compact JSON, as Go templates' `json` function writes it.
  static func compactJSON(_ value: some Encodable) throws -> String {
    let tree = try JSONValueEncoder().encode(value)
    return String(decoding: GoJSONFormat.indented(tree, indent: nil), as: UTF8.self)
  }

  /// Columns laid out as Podman's Go tabwriter does (minimum width 12, padding 2, spaces): every cell but the
  /// last of its row is padded to its column's width; the last cell is printed as it is.
  static func table(_ rows: [[String]]) -> String {
    var widths: [Int] = []
    for row in rows {
      for (index, cell) in row.enumerated().dropLast() {
        if index == widths.count { widths.append(0) }
        widths[index] = max(widths[index], max(cell.count + 2, 12))
      }
    }
    return rows.map { row in
      row.enumerated().map { index, cell in
        index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
      }.joined()
    }.joined(separator: "\n")
  }

  /// Lines whose cells are separated by tabs, aligned with ``table(_:)``; lines without a tab stay as they are.
  static func aligned(_ lines: [String]) -> String {
    let text = lines.joined(separator: "\n")
    guard text.contains("\t") else { return text }
    let rows = text.split(separator: "\n", omittingEmptySubsequences: false)
    return table(rows.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) })
  }
}

/// The subset of Go's text/template that Podman users write for networks: `{{.Field}}`, `{{json .}}`,
/// `{{json .Field}}`, literal text between, `\t` and `\n` escapes, and a leading `table` for a header row.
struct NetworkTemplate {
  enum Piece: Equatable {
    case text(String)
    case field(String)
    case json(String?)
  }

  static let fields: [String: String] = [
    "Name": "NAME", "ID": "NETWORK ID", "Driver": "DRIVER", "NetworkInterface": "NETWORK INTERFACE",
    "Created": "CREATED", "Subnets": "SUBNETS", "Routes": "ROUTES", "IPv6Enabled": "IPV6 ENABLED",
    "Internal": "INTERNAL", "DNSEnabled": "DNS ENABLED", "NetworkDNSServers": "NETWORK DNS SERVERS",
    "Labels": "LABELS", "Options": "OPTIONS", "IPAMOptions": "IPAM OPTIONS",
  ]

  var pieces: [Piece]
  var isTable: Bool

  init(_ format: String) throws(NetworkError) {
    var text = format
    isTable = false
    if text.hasPrefix("table") {
      isTable = true
      text = String(text.dropFirst("table".count)).trimmingWhitespace()
    }
    text = text.replacing("\\t", with: "\t").replacing("\\n", with: "\n")
    pieces = []
    var rest = Substring(text)
    while let open = rest.firstRange(of: "{{") {
      if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
      guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
        throw NetworkError(.invalidArgument, "template: unclosed action in \(NameValidation.displayed(format))")
      }
      let action = rest[open.upperBound..<close.lowerBound].trimmingWhitespace()
      pieces.append(try Self.piece(action, format: format))
      rest = rest[close.upperBound...]
    }
    if !rest.isEmpty { pieces.append(.text(String(rest))) }
  }

  private static func piece(_ action: String, format: String) throws(NetworkError) -> Piece {
    let words = action.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    if words.count == 2, words[0] == "json" {
      if words[1] == "." { return .json(nil) }
      if words[1].hasPrefix("."), fields[String(words[1].dropFirst())] != nil {
        return .json(String(words[1].dropFirst()))
      }
    }
    if words.count == 1, words[0].hasPrefix(".") {
      let name = String(words[0].dropFirst())
      if fields[name] != nil { return .field(name) }
      throw NetworkError(
        .invalidArgument,
        "template: can't evaluate field \(name) in type types.Network; fields: \(fields.keys.sorted().joined(separator: ", "))"
      )
    }
    throw NetworkError(
      .invalidArgument, "template: unsupported action {{\(action)}} in \(NameValidation.displayed(format))")
  }

  /// The header row of a `table` template.
  var header: String {
    pieces.map { piece in
      switch piece {
      case .text(let text): text
      case .field(let name): Self.fields[name] ?? name.uppercased()
      case .json(let name): name.map { Self.fields[$0] ?? $0 } ?? "JSON"
      }
    }.joined()
  }

  /// What a template is given: `inspect`'s network, or `ls`'s report of it, whose `.ID` is cut to 12 characters
  /// (unless `--no-trunc`) and whose `.Labels` reads `k=v,k=v` (Podman 4.3's `ListPrintReports`).
  enum Subject {
    case inspected
    case listed(noTrunc: Bool)
  }

  func render(_ network: Network, as subject: Subject = .inspected) throws -> String {
    try pieces.map { piece in
      switch piece {
      case .text(let text): return text
      case .field("ID") where subject.isListed && !subject.noTrunc: return String(network.id.prefix(12))
      case .field("Labels") where subject.isListed:
        return network.labels.keys.sorted().map { "\($0)=\(network.labels[$0]!)" }.joined(separator: ",")
      case .field(let name): return Self.goValue(of: name, in: network)
      case .json(nil): return try OutputFormatting.compactJSON(network)
      case .json(let name?): return try Self.jsonValue(of: name, in: network)
      }
    }.joined()
  }

  /// The field as Go's `%v` prints it.
  static func goValue(of field: String, in network: Network) -> String {
    func map(_ dictionary: [String: String]) -> String {
      "map[" + dictionary.keys.sorted().map { "\($0):\(dictionary[$0]!)" }.joined(separator: " ") + "]"
    }
    switch field {
    case "Name": return network.name
    case "ID": return network.id
    case "Driver": return network.driver
    case "NetworkInterface": return network.networkInterface
    case "Created": return network.created.map(goTime) ?? "0001-01-01 00:00:00 +0000 UTC"
    case "Subnets":
      return "["
        + network.subnets.map { subnet in
          let gateway = subnet.gateway?.description ?? "<nil>"
          let lease =
            subnet.leaseRange.map { "&{\($0.startIP?.description ?? "<nil>") \($0.endIP?.description ?? "<nil>")}" }
            ?? "<nil>"
          return "{\(subnet.subnet) \(gateway) \(lease)}"
        }.joined(separator: " ") + "]"
    case "Routes":
      return "["
        + network.routes.map {
          "{\($0.destination) \($0.gateway.map(String.init(describing:)) ?? "<nil>") \($0.metric.map(String.init) ?? "<nil>")}"
        }
        .joined(separator: " ") + "]"
    case "IPv6Enabled": return String(network.ipv6Enabled)
    case "Internal": return String(network.internal)
    case "DNSEnabled": return String(network.dnsEnabled)
    case "NetworkDNSServers": return "[" + network.networkDNSServers.joined(separator: " ") + "]"
    case "Labels": return map(network.labels)
    case "Options": return map(network.options)
    case "IPAMOptions": return map(network.ipamOptions)
    default: return ""
    }
  }

  static func jsonValue(of field: String, in network: Network) throws -> String {
    switch field {
    case "Name": return try OutputFormatting.compactJSON(network.name)
    case "ID": return try OutputFormatting.compactJSON(network.id)
    case "Driver": return try OutputFormatting.compactJSON(network.driver)
    case "NetworkInterface": return try OutputFormatting.compactJSON(network.networkInterface)
    case "Created": return try OutputFormatting.compactJSON(network.created)
    case "Subnets": return try OutputFormatting.compactJSON(network.subnets)
    case "Routes": return try OutputFormatting.compactJSON(network.routes)
    case "IPv6Enabled": return String(network.ipv6Enabled)
    case "Internal": return String(network.internal)
    case "DNSEnabled": return String(network.dnsEnabled)
    case "NetworkDNSServers": return try OutputFormatting.compactJSON(network.networkDNSServers)
    case "Labels": return try OutputFormatting.compactJSON(SortedDictionary(network.labels))
    case "Options": return try OutputFormatting.compactJSON(SortedDictionary(network.options))
    default: return try OutputFormatting.compactJSON(SortedDictionary(network.ipamOptions))
    }
  }

  /// Go's default time format: `2026-11-29 01:06:03.592050558 +0000 UTC`.
  static func goTime(_ time: Timestamp) -> String {
    let text = time.description  // 2026-11-29T01:06:03.592050558Z
    return text.dropLast().replacing("T", with: " ") + " +0000 UTC"
  }
}

extension NetworkTemplate.Subject {
  var isListed: Bool {
    if case .listed = self { return true }
    return false
  }

  var noTrunc: Bool {
    if case .listed(let noTrunc) = self { return noTrunc }
    return true
  }
}
