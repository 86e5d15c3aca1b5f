/// Decodes `Decodable` values from a ``JSONValue`` tree: the counterpart of ``JSONValueEncoder``, and the reader of
/// the files a short-lived command reads on every run (network files, state files, records).
///
/// Foundation's `JSONDecoder` asks of every type it meets whether it is one of its special cases (a `Date`, `Data`,
/// `URL`, a `[String: …]` dictionary); in a process that has just started, each such question scans every protocol
/// conformance of the binary, which made decoding one network file cost ≈ 0.3 ms of a `cnet` command's 4. This decoder
/// has no special cases: every type decodes itself from keyed, unkeyed and single-value containers.
public struct JSONValueDecoder {
  public init() {}

  /// Parses `bytes` as JSON and decodes a `T` from it.
  public func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
    let value: JSONValue
    do {
      value = try JSONValue.parse(bytes)
    } catch {
      throw DecodingError.dataCorrupted(
        DecodingError.Context(codingPath: [], debugDescription: "not valid JSON: \(error)", underlyingError: error))
    }
    return try decode(type, from: value)
  }

  /// Decodes a `T` from an already parsed value.
  public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
    try T(from: ValueDecoder(value: value, codingPath: []))
  }
}

/// The decoder of one value at `codingPath`.
private struct ValueDecoder: Decoder {
  let value: JSONValue
  let codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .object(let object) = value else { throw mismatch([String: JSONValue].self, value, codingPath) }
    return KeyedDecodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .array(let elements) = value else { throw mismatch([JSONValue].self, value, codingPath) }
    return UnkeyedContainer(elements: elements, codingPath: codingPath)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
}

extension ValueDecoder: SingleValueDecodingContainer {
  func decodeNil() -> Bool { value == .null }
  func decode(_ type: Bool.Type) throws -> Bool { try scalar(value, codingPath) }
  func decode(_ type: String.Type) throws -> String { try scalar(value, codingPath) }
  func decode(_ type: Double.Type) throws -> Double { try scalar(value, codingPath) }
  func decode(_ type: Float.Type) throws -> Float { try scalar(value, codingPath) }
  func decode(_ type: Int.Type) throws -> Int { try scalar(value, codingPath) }
  func decode(_ type: Int8.Type) throws -> Int8 { try scalar(value, codingPath) }
  func decode(_ type: Int16.Type) throws -> Int16 { try scalar(value, codingPath) }
  func decode(_ type: Int32.Type) throws -> Int32 { try scalar(value, codingPath) }
  func decode(_ type: Int64.Type) throws -> Int64 { try scalar(value, codingPath) }
  func decode(_ type: UInt.Type) throws -> UInt { try scalar(value, codingPath) }
  func decode(_ type: UInt8.Type) throws -> UInt8 { try scalar(value, codingPath) }
  func decode(_ type: UInt16.Type) throws -> UInt16 { try scalar(value, codingPath) }
  func decode(_ type: UInt32.Type) throws -> UInt32 { try scalar(value, codingPath) }
  func decode(_ type: UInt64.Type) throws -> UInt64 { try scalar(value, codingPath) }
  func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let object: JSONObject
  let codingPath: [any CodingKey]

  var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

  func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

  private func member(_ key: Key) throws -> JSONValue {
    guard let value = object[key.stringValue] else {
      throw DecodingError.keyNotFound(
        key, DecodingError.Context(codingPath: codingPath, debugDescription: "no value for key \"\(key.stringValue)\""))
    }
    return value
  }

  private func decoder(_ key: Key) throws -> ValueDecoder {
    ValueDecoder(value: try member(key), codingPath: codingPath + [key])
  }

  func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }
  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder(key).decode(type) }
  func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder(key).decode(type) }
  func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder(key).decode(type) }
  func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder(key).decode(type) }
  func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder(key).decode(type) }
  func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder(key).decode(type) }
  func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder(key).decode(type) }
  func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder(key).decode(type) }
  func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder(key).decode(type) }
  func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder(key).decode(type) }
  func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder(key).decode(type) }
  func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder(key).decode(type) }
  func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder(key).decode(type) }
  func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder(key).decode(type) }
  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try T(from: try decoder(key)) }

  func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
    -> KeyedDecodingContainer<NestedKey>
  {
    try decoder(key).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    try decoder(key).unkeyedContainer()
  }

  func superDecoder() throws -> any Decoder {
    ValueDecoder(value: object["super"] ?? .null, codingPath: codingPath)
  }

  func superDecoder(forKey key: Key) throws -> any Decoder {
    ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key])
  }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
  let elements: [JSONValue]
  let codingPath: [any CodingKey]
  private(set) var currentIndex = 0

  init(elements: [JSONValue], codingPath: [any CodingKey]) {
    self.elements = elements
    self.codingPath = codingPath
  }

  var count: Int? { elements.count }
  var isAtEnd: Bool { currentIndex >= elements.count }

  /// The decoder of the current element; the index moves on only once it has been decoded.
  private func current() throws -> ValueDecoder {
    let path = codingPath + [IndexKey(index: currentIndex)]
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(
        JSONValue.self, DecodingError.Context(codingPath: path, debugDescription: "the array has no more elements"))
    }
    return ValueDecoder(value: elements[currentIndex], codingPath: path)
  }

  private mutating func next<T>(_ body: (ValueDecoder) throws -> T) throws -> T {
    let value = try body(try current())
    currentIndex += 1
    return value
  }

  mutating func decodeNil() throws -> Bool {
    guard try current().decodeNil() else { return false }
    currentIndex += 1
    return true
  }

  mutating func decode(_ type: Bool.Type) throws -> Bool { try next { try $0.decode(type) } }
  mutating func decode(_ type: String.Type) throws -> String { try next { try $0.decode(type) } }
  mutating func decode(_ type: Double.Type) throws -> Double { try next { try $0.decode(type) } }
  mutating func decode(_ type: Float.Type) throws -> Float { try next { try $0.decode(type) } }
  mutating func decode(_ type: Int.Type) throws -> Int { try next { try $0.decode(type) } }
  mutating func decode(_ type: Int8.Type) throws -> Int8 { try next { try $0.decode(type) } }
  mutating func decode(_ type: Int16.Type) throws -> Int16 { try next { try $0.decode(type) } }
  mutating func decode(_ type: Int32.Type) throws -> Int32 { try next { try $0.decode(type) } }
  mutating func decode(_ type: Int64.Type) throws -> Int64 { try next { try $0.decode(type) } }
  mutating func decode(_ type: UInt.Type) throws -> UInt { try next { try $0.decode(type) } }
  mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next { try $0.decode(type) } }
  mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next { try $0.decode(type) } }
  mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next { try $0.decode(type) } }
  mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next { try $0.decode(type) } }
  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next { try T(from: $0) } }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
    -> KeyedDecodingContainer<NestedKey>
  {
    try next { try $0.container(keyedBy: type) }
  }

  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
    try next { try $0.unkeyedContainer() }
  }

  mutating func superDecoder() throws -> any Decoder { try next { $0 } }
}

/// An array index as a coding key, for error paths.
private struct IndexKey: CodingKey {
  let index: Int
  init(index: Int) { self.index = index }
  init?(stringValue: String) { nil }
  init?(intValue: Int) { index = intValue }
  var stringValue: String { "Index \(index)" }
  var intValue: Int? { index }
}

/// A scalar read from a JSON value, as JSONDecoder reads it: numbers from their text (an integer type takes only a
/// whole number in its range), strings and booleans as they are.
private protocol JSONScalar {
  init?(json value: JSONValue)
}

extension Bool: JSONScalar {
  init?(json value: JSONValue) {
    guard case .bool(let flag) = value else { return nil }
    self = flag
  }
}

extension String: JSONScalar {
  init?(json value: JSONValue) {
    guard case .string(let text) = value else { return nil }
    self = text
  }
}

extension Double: JSONScalar {
  init?(json value: JSONValue) {
    guard case .number(let text) = value, let number = Double(text) else { return nil }
    self = number
  }
}

extension Float: JSONScalar {
  init?(json value: JSONValue) {
    guard case .number(let text) = value, let number = Float(text) else { return nil }
    self = number
  }
}

extension FixedWidthInteger {
  init?(json value: JSONValue) {
    guard case .number(let text) = value else { return nil }
    if let exact = Self(text) {
      self = exact
      return
    }
    // `1.0` and `1e2` are whole numbers too.
    guard let number = Double(text), number.rounded(.towardZero) == number, let exact = Self(exactly: number) else {
      return nil
    }
    self = exact
  }
}

extension Int: JSONScalar {}
extension Int8: JSONScalar {}
extension Int16: JSONScalar {}
extension Int32: JSONScalar {}
extension Int64: JSONScalar {}
extension UInt: JSONScalar {}
extension UInt8: JSONScalar {}
extension UInt16: JSONScalar {}
extension UInt32: JSONScalar {}
extension UInt64: JSONScalar {}

private func scalar<T: JSONScalar>(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> T {
  guard let scalar = T(json: value) else { throw mismatch(T.self, value, codingPath) }
  return scalar
}

private func mismatch(_ type: Any.Type, _ value: JSONValue, _ codingPath: [any CodingKey]) -> DecodingError {
  if value == .null {
    return DecodingError.valueNotFound(
      type, DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(type), found null"))
  }
  return DecodingError.typeMismatch(
    type, DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(type), found \(value.kindName)"))
}
