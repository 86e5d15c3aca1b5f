/// A JSON value that remembers the order of object keys and the exact text of numbers.
///
/// CNI plugins receive their configuration keys unchanged, including keys this runtime does not understand, so
/// configuration is kept as a tree of these values instead of being decoded into structs and encoded again.
public enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  /// A number exactly as it was written (`1`, `1.50`, `1e3`), so that it round-trips byte for byte.
  case number(String)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)

  /// A number from an integer.
  public static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

  /// The string, when this is a string.
  public var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  /// The integer, when this is a number without fraction or exponent that fits an `Int`.
  public var intValue: Int? {
    if case .number(let text) = self { return Int(text) }
    return nil
  }

  /// The boolean, when this is `true` or `false`.
  public var boolValue: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  /// The array, when this is an array.
  public var arrayValue: [JSONValue]? {
    if case .array(let value) = self { return value }
    return nil
  }

  /// The object, when this is an object.
  public var objectValue: JSONObject? {
    if case .object(let value) = self { return value }
    return nil
  }

  /// The member `key` of an object; nil for a missing key or a value that is not an object.
  public subscript(key: String) -> JSONValue? {
    objectValue?[key]
  }

  /// A short name of the kind of value, for error messages.
  public var kindName: String {
    switch self {
    case .null: "null"
    case .bool: "boolean"
    case .number: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
  }
}

/// A JSON object whose keys keep the order in which they were read or inserted.
///
/// Objects in CNI configuration are small, so lookups scan the entries; that keeps insertion order without a
/// second index.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
  /// One member of an object.
  public struct Member: Sendable, Hashable {
    public var key: String
    public var value: JSONValue
  }

  /// The members in order.
  public private(set) var members: [Member] = []

  /// An empty object.
  public init() {}

  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    for (key, value) in elements { self[key] = value }
  }

  /// The keys in order.
  public var keys: [String] { members.map(\.key) }

  public var isEmpty: Bool { members.isEmpty }

  public var count: Int { members.count }

  /// Reads a member; setting nil removes it, setting an existing key replaces its value in place.
  public subscript(key: String) -> JSONValue? {
    get { members.first { $0.key == key }?.value }
    set {
      let index = members.firstIndex { $0.key == key }
      switch (index, newValue) {
      case (let index?, let value?): members[index].value = value
      case (let index?, nil): members.remove(at: index)
      case (nil, let value?): members.append(Member(key: key, value: value))
      case (nil, nil): break
      }
    }
  }

  public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int) { self = .number(String(value)) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(nilLiteral: ()) { self = .null }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    var object = JSONObject()
    for (key, value) in elements { object[key] = value }
    self = .object(object)
  }
}

// MARK: - Writing

extension JSONValue {
  /// The compact JSON text of this value, keys in their stored order, numbers exactly as written.
  public func serialized() -> [UInt8] {
    JSONWriter.text(of: self, escapingHTML: false, indent: nil)
  }

  /// The compact JSON text of this value as a string.
  public var jsonString: String { String(decoding: serialized(), as: UTF8.self) }
}

/// The package's one JSON writer: ``JSONValue/serialized()`` and ``GoJSONFormat`` both write through it.
///
/// Strings are escaped as Go's encoder does (`\"`, `\\`, `\n`, `\r`, `\t`, other control characters as `\u00XX`);
/// with `escapingHTML`, also `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`, as Go's `json.Marshal` does. Numbers are
/// written as their stored text. With an `indent`, the layout is that of Go's `json.MarshalIndent` (one member or
/// element per line, `": "` after keys, `[]` and `{}` for empty containers); without one, the text is compact.
struct JSONWriter {
  let escapingHTML: Bool
  let indent: [UInt8]?
  var output: [UInt8] = []

  /// The JSON text of `value`.
  static func text(of value: JSONValue, escapingHTML: Bool, indent: [UInt8]?) -> [UInt8] {
    var writer = JSONWriter(escapingHTML: escapingHTML, indent: indent)
    writer.output.reserveCapacity(indent == nil ? 256 : 1024)
    writer.write(value, depth: 0)
    return writer.output
  }

  private mutating func write(_ value: JSONValue, depth: Int) {
    switch value {
    case .null: output.append(contentsOf: "null".utf8)
    case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
    case .number(let text): output.append(contentsOf: text.utf8)
    case .string(let text): writeString(text)
    case .array(let elements):
      output.append(UInt8(ascii: "["))
      if elements.isEmpty {
        output.append(UInt8(ascii: "]"))
        return
      }
      for (index, element) in elements.enumerated() {
        if index > 0 { output.append(UInt8(ascii: ",")) }
        newline(depth + 1)
        write(element, depth: depth + 1)
      }
      newline(depth)
      output.append(UInt8(ascii: "]"))
    case .object(let object):
      output.append(UInt8(ascii: "{"))
      if object.isEmpty {
        output.append(UInt8(ascii: "}"))
        return
      }
      for (index, member) in object.members.enumerated() {
        if index > 0 { output.append(UInt8(ascii: ",")) }
        newline(depth + 1)
        writeString(member.key)
        output.append(UInt8(ascii: ":"))
        if indent != nil { output.append(UInt8(ascii: " ")) }
        write(member.value, depth: depth + 1)
      }
      newline(depth)
      output.append(UInt8(ascii: "}"))
    }
  }

  /// A line break and `level` indents; nothing in compact text.
  private mutating func newline(_ level: Int) {
    guard let indent else { return }
    output.append(0x0A)
    for _ in 0..<level { output.append(contentsOf: indent) }
  }

  private mutating func writeString(_ text: String) {
    output.append(UInt8(ascii: "\""))
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": output.append(contentsOf: #"\""#.utf8)
      case "\\": output.append(contentsOf: #"\\"#.utf8)
      case "\n": output.append(contentsOf: #"\n"#.utf8)
      case "\r": output.append(contentsOf: #"\r"#.utf8)
      case "\t": output.append(contentsOf: #"\t"#.utf8)
      case "<", ">", "&", "\u{2028}", "\u{2029}":
        if escapingHTML { writeUnicodeEscape(scalar.value) } else { UTF8.encode(scalar) { output.append($0) } }
      default:
        if scalar.value < 0x20 { writeUnicodeEscape(scalar.value) } else { UTF8.encode(scalar) { output.append($0) } }
      }
    }
    output.append(UInt8(ascii: "\""))
  }

  /// `\u` and four lowercase hexadecimal digits.
  private mutating func writeUnicodeEscape(_ value: UInt32) {
    output.append(contentsOf: #"\u"#.utf8)
    for shift in stride(from: 12, through: 0, by: -4) {
      let digit = UInt8((value >> UInt32(shift)) & 0xF)
      output.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
    }
  }
}

// MARK: - Parsing

/// Why a text is not valid JSON, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What was wrong.
  public var reason: String
  /// The byte offset where the problem was found.
  public var offset: Int

  public init(reason: String, offset: Int) {
    self.reason = reason
    self.offset = offset
  }

  public var description: String { "\(reason) at offset \(offset)" }
}

extension JSONValue {
  /// Parses one JSON value (RFC 8259) surrounded by optional whitespace.
  public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
    let buffer = Array(bytes)
    var parser = JSONParser(bytes: buffer)
    return try parser.parseDocument()
  }

  /// Parses one JSON value from a string.
  public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
    try parse(Array(text.utf8))
  }
}

private struct JSONParser {
  // Deep enough for any real configuration, shallow enough that hostile input cannot exhaust the stack.
  static let maximumDepth = 512

  let bytes: [UInt8]
  var position = 0
  var depth = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  mutating func parseDocument() throws(JSONParseError) -> JSONValue {
    skipWhitespace()
    if position >= bytes.count { throw failure("unexpected end of JSON input") }
    let value = try parseValue()
    skipWhitespace()
    if position < bytes.count { throw failure("invalid character \(describe(bytes[position])) after top-level value") }
    return value
  }

  func failure(_ reason: String) -> JSONParseError { JSONParseError(reason: reason, offset: position) }

  func describe(_ byte: UInt8) -> String {
    if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
    return "byte 0x" + String(byte, radix: 16)
  }

  mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x0A, 0x0D, 0x09: position += 1
      default: return
      }
    }
  }

  mutating func parseValue() throws(JSONParseError) -> JSONValue {
    guard position < bytes.count else { throw failure("unexpected end of JSON input") }
    switch bytes[position] {
    case UInt8(ascii: "{"): return try parseObject()
    case UInt8(ascii: "["): return try parseArray()
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
    case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
    case UInt8(ascii: "n"): return try parseLiteral("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    case let byte: throw failure("invalid character \(describe(byte)) looking for beginning of value")
    }
  }

  mutating func parseLiteral(_ word: String, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
    let expected = Array(word.utf8)
    guard position + expected.count <= bytes.count, Array(bytes[position..<position + expected.count]) == expected
    else { throw failure("invalid literal, expected \(word)") }
    position += expected.count
    return value
  }

  mutating func enter() throws(JSONParseError) {
    depth += 1
    if depth > Self.maximumDepth { throw failure("exceeded maximum nesting depth \(Self.maximumDepth)") }
  }

  mutating func parseObject() throws(JSONParseError) -> JSONValue {
    try enter()
    defer { depth -= 1 }
    position += 1
    var object = JSONObject()
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
      position += 1
      return .object(object)
    }
    while true {
      skipWhitespace()
      guard position < bytes.count else { throw failure("unexpected end of JSON input") }
      guard bytes[position] == UInt8(ascii: "\"") else {
        throw failure("invalid character \(describe(bytes[position])) looking for beginning of object key string")
      }
      let key = try parseString()
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
        throw failure("expected ':' after object key")
      }
      position += 1
      skipWhitespace()
      // A repeated key keeps its first position and takes the last value, as Go's decoder does.
      object[key] = try parseValue()
      skipWhitespace()
      guard position < bytes.count else { throw failure("unexpected end of JSON input") }
      if bytes[position] == UInt8(ascii: ",") {
        position += 1
        continue
      }
      if bytes[position] == UInt8(ascii: "}") {
        position += 1
        return .object(object)
      }
      throw failure("invalid character \(describe(bytes[position])) after object key:value pair")
    }
  }

  mutating func parseArray() throws(JSONParseError) -> JSONValue {
    try enter()
    defer { depth -= 1 }
    position += 1
    var elements: [JSONValue] = []
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
      position += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue())
      skipWhitespace()
      guard position < bytes.count else { throw failure("unexpected end of JSON input") }
      if bytes[position] == UInt8(ascii: ",") {
        position += 1
        continue
      }
      if bytes[position] == UInt8(ascii: "]") {
        position += 1
        return .array(elements)
      }
      throw failure("invalid character \(describe(bytes[position])) after array element")
    }
  }

  mutating func parseNumber() throws(JSONParseError) -> JSONValue {
    let start = position
    if bytes[position] == UInt8(ascii: "-") { position += 1 }
    guard position < bytes.count, isDigit(bytes[position]) else { throw failure("invalid number") }
    if bytes[position] == UInt8(ascii: "0") {
      position += 1
    } else {
      while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }
    if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
      position += 1
      guard position < bytes.count, isDigit(bytes[position]) else { throw failure("invalid number") }
      while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }
    if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
      position += 1
      if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
        position += 1
      }
      guard position < bytes.count, isDigit(bytes[position]) else { throw failure("invalid number") }
      while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }
    return .number(String(decoding: bytes[start..<position], as: UTF8.self))
  }

  func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

  mutating func parseString() throws(JSONParseError) -> String {
    position += 1
    // Most strings in configuration have no escapes: make the String straight from the input bytes.
    var scan = position
    while scan < bytes.count {
      let byte = bytes[scan]
      if byte == UInt8(ascii: "\"") {
        let text = String(decoding: bytes[position..<scan], as: UTF8.self)
        position = scan + 1
        return text
      }
      if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
      scan += 1
    }
    var result: [UInt8] = []
    var runStart = position
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        result.append(contentsOf: bytes[runStart..<position])
        position += 1
        return String(decoding: result, as: UTF8.self)
      }
      if byte < 0x20 { throw failure("invalid control character in string") }
      if byte != UInt8(ascii: "\\") {
        position += 1
        continue
      }
      result.append(contentsOf: bytes[runStart..<position])
      position += 1
      guard position < bytes.count else { break }
      let escape = bytes[position]
      position += 1
      switch escape {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(escape)
      case UInt8(ascii: "b"): result.append(0x08)
      case UInt8(ascii: "f"): result.append(0x0C)
      case UInt8(ascii: "n"): result.append(0x0A)
      case UInt8(ascii: "r"): result.append(0x0D)
      case UInt8(ascii: "t"): result.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try parseHex4()
        if (0xD800..<0xDC00).contains(scalar), position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
          bytes[position + 1] == UInt8(ascii: "u")
        {
          let save = position
          position += 2
          let low = try parseHex4()
          if (0xDC00..<0xE000).contains(low) {
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else {
            position = save
          }
        }
        // A lone surrogate becomes U+FFFD, as in Go.
        let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        result.append(contentsOf: Array(String(Character(character)).utf8))
      default:
        position -= 1
        throw failure("invalid escape character \(describe(escape)) in string")
      }
      runStart = position
    }
    throw failure("unexpected end of JSON input")
  }

  mutating func parseHex4() throws(JSONParseError) -> UInt32 {
    guard position + 4 <= bytes.count else { throw failure("unexpected end of JSON input") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt32
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
      default: throw failure("invalid character \(describe(byte)) in \\u hexadecimal character escape")
      }
      value = value << 4 | digit
      position += 1
    }
    return value
  }
}
