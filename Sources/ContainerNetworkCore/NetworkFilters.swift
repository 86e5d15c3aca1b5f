#if canImport(Glibc)
  import Glibc
#endif

/// Filters for listing and pruning networks, with Podman's keys: `name`, `id`, `driver`, `label`, `label!`, `until`,
/// `dangling`.
///
/// Several values of one key are alternatives (OR); different keys must all match (AND). `label!` is the exception,
/// as in Podman: a network passes only when none of its values matches.
public struct NetworkFilters: Hashable, Sendable {
  /// The keys a filter may use.
  public static let supportedKeys: Set<String> = ["name", "id", "driver", "label", "label!", "until", "dangling"]

  /// The filter values by key, in the order given.
  public private(set) var values: [String: [String]]
  /// The `name` values, compiled once. Go's RE2 syntax in linear time, as Podman's `regexp`: Swift's backtracking
  /// `Regex` spent over 15 s of CPU on `^(a|a)*b$`.
  private var namePatterns: [FilterPattern] = []
  /// The local time zone's offset when the filters were made, for `until` times without a zone (read once, not per
  /// network).
  private var utcOffset = 0

  /// No filters: everything matches.
  public init() { values = [:] }

  /// Filters from key/value pairs; an unknown key or a malformed value is an error.
  public init(_ values: [String: [String]]) throws(NetworkError) {
    for key in values.keys where !Self.supportedKeys.contains(key) {
      throw NetworkError(
        .invalidArgument,
        "invalid filter \"\(key)\"")
    }
    for value in values["dangling"] ?? [] where NetworkCreationRules.parseBool(value) == nil {
      throw NetworkError(
        .invalidArgument, "invalid filter dangling=\(NameValidation.displayed(value)): expected true or false")
    }
    for value in values["name"] ?? [] {
      do {
        namePatterns.append(try FilterPattern(value))
      } catch {
        throw NetworkError(
          .invalidArgument, "invalid filter name=\(NameValidation.displayed(value)): \(error.message)", causes: [error])
      }
    }
    if values["until"] != nil { utcOffset = FilterTime.localUTCOffset() }
    for value in values["until"] ?? [] {
      guard FilterTime.parse(value, now: .now(), utcOffset: utcOffset) != nil else {
        throw NetworkError(
          .invalidArgument,
          "failed to parse value as time or duration: \(NetworkCreationRules.goQuoted(value))")
      }
    }
    self.values = values.filter { !$0.value.isEmpty }
  }

  /// Filters from `key=value` strings as the CLI takes them (`--filter driver=bridge`).
  public init(parsing expressions: [String]) throws(NetworkError) {
    var values: [String: [String]] = [:]
    for expression in expressions {
      guard let equals = expression.firstIndex(of: "=") else {
        throw NetworkError(.invalidArgument, "invalid filter \"\(expression)\": expected KEY=VALUE")
      }
      values[String(expression[..<equals]), default: []].append(String(expression[expression.index(after: equals)...]))
    }
    try self.init(values)
  }

  public var isEmpty: Bool { values.isEmpty }

  /// Whether matching needs to know which networks containers use (the `dangling` filter).
  public var needsUsage: Bool { values["dangling"] != nil }

  /// Whether `network` passes every filter; `now` anchors durations in `until`, and `inUse` tells whether a live
  /// container uses the network (for `dangling`; a network counts as unused when it is not given).
  public func matches(_ network: Network, now: Timestamp = .now(), inUse: Bool = false) -> Bool {
    for (key, alternatives) in values {
      if key == "label!" {
        if alternatives.contains(where: { Self.labelMatches(network.labels, filter: $0) }) { return false }
        continue
      }
      let matched = alternatives.contains { value in
        switch key {
        case "name":
          return namePatterns.first { $0.pattern == value }?.matches(network.name) ?? false
        case "id":
          return network.id.hasPrefix(value)
        case "driver":
          return network.driver == value
        case "label":
          return Self.labelMatches(network.labels, filter: value)
        case "until":
          guard let limit = FilterTime.parse(value, now: now, utcOffset: utcOffset), let created = network.created
          else { return false }
          return created < limit
        case "dangling":
          return NetworkCreationRules.parseBool(value) == !inUse
        default:
          return false
        }
      }
      if !matched { return false }
    }
    return true
  }

  static func labelMatches(_ labels: [String: String], filter: String) -> Bool {
    if let equals = filter.firstIndex(of: "=") {
      let key = String(filter[..<equals])
      let value = String(filter[filter.index(after: equals)...])
      return labels[key] == value
    }
    return labels[filter] != nil
  }
}

/// The time formats of Podman's `until` filter.
enum FilterTime {
  /// RFC 3339, Unix seconds (with an optional fraction), or a Go-style duration ("90m", "1h30m", "10s") before `now`.
  static func parse(_ text: String, now: Timestamp, utcOffset: Int = localUTCOffset()) -> Timestamp? {
    if let time = Timestamp(rfc3339: text) { return time }
    if let time = localTime(text, utcOffset: utcOffset) { return time }
    if let seconds = unixSeconds(text) { return seconds }
    if let duration = durationNanoseconds(text) {
      let total = Int64(now.nanoseconds) - duration % 1_000_000_000
      let carry = total < 0 ? -1 : (total >= 1_000_000_000 ? 1 : 0)
      return Timestamp(
        seconds: now.seconds - duration / 1_000_000_000 + Int64(carry),
        nanoseconds: Int32(total - Int64(carry) * 1_000_000_000))
    }
    return nil
  }

  /// Podman's forms without a zone, read in the local time zone as Podman does: `2006-01-02`, `2006-01-02T15`,
  /// `2006-01-02T15:04`, `2006-01-02T15:04:05` and the last with a fraction.
  static func localTime(_ text: String, utcOffset: Int) -> Timestamp? {
    let bytes = Array(text.utf8)
    func digits(_ range: Range<Int>) -> Bool {
      range.upperBound <= bytes.count && bytes[range].allSatisfy { $0 >= 48 && $0 <= 57 }
    }
    guard bytes.count >= 10, digits(0..<4), bytes[4] == UInt8(ascii: "-"), digits(5..<7),
      bytes[7] == UInt8(ascii: "-"), digits(8..<10)
    else { return nil }
    var clock = "T00:00:00"
    if bytes.count > 10 {
      guard bytes[10] == UInt8(ascii: "T"), digits(11..<13) else { return nil }
      let rest = String(text.dropFirst(11))
      switch rest.utf8.count {
      case 2: clock = "T\(rest):00:00"
      case 5: clock = "T\(rest):00"
      default: clock = "T\(rest)"
      }
    }
    let magnitude = abs(utcOffset) / 60
    let hours = magnitude / 60
    let minutes = magnitude % 60
    let zone =
      (utcOffset < 0 ? "-" : "+") + (hours < 10 ? "0" : "") + String(hours) + ":" + (minutes < 10 ? "0" : "")
      + String(minutes)
    return Timestamp(rfc3339: String(text.prefix(10)) + clock + zone)
  }

  /// The local time zone's offset from UTC now, in seconds (Go's `time.FixedZone(reference.Zone())`).
  public static func localUTCOffset() -> Int {
    var now = time(nil)
    var parts = tm()
    guard localtime_r(&now, &parts) != nil else { return 0 }
    return parts.tm_gmtoff
  }

  private static func unixSeconds(_ text: String) -> Timestamp? {
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    guard let whole = Int64(parts[0]), !parts[0].hasPrefix("+"), !parts[0].hasPrefix("-") else { return nil }
    var nanos: Int32 = 0
    if parts.count == 2 {
      let fraction = parts[1]
      guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy(\.isASCIIDigit) else { return nil }
      nanos = Int32(fraction + String(repeating: "0", count: 9 - fraction.count))!
    }
    return Timestamp(seconds: whole, nanoseconds: nanos)
  }

  /// Go's time.ParseDuration units h, m, s, ms, us, ns with integer amounts.
  private static func durationNanoseconds(_ text: String) -> Int64? {
    var rest = Substring(text)
    var total: Int64 = 0
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
      let digits = rest.prefix(while: \.isASCIIDigit)
      guard !digits.isEmpty, let amount = Int64(digits) else { return nil }
      rest = rest.dropFirst(digits.count)
      let unit = rest.prefix(while: { !$0.isASCIIDigit })
      rest = rest.dropFirst(unit.count)
      let scale: Int64
      switch unit {
      case "h": scale = 3_600_000_000_000
      case "m": scale = 60_000_000_000
      case "s": scale = 1_000_000_000
      case "ms": scale = 1_000_000
      case "us", "µs": scale = 1000
      case "ns": scale = 1
      default: return nil
      }
      let (product, overflow) = amount.multipliedReportingOverflow(by: scale)
      guard !overflow else { return nil }
      total += product
    }
    return total
  }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
