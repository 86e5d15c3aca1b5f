/// Encodes `Encodable` values into a ``JSONValue``, keeping object keys in the order `encode(to:)` writes them.
///
/// Foundation's JSONEncoder on Linux orders keys by hash, which changes between runs; formats we share with Podman
/// (struct fields in declaration order, maps sorted) need the order the model writes.
public struct JSONValueEncoder {
  public init() {}

  public func encode(_ value: some Encodable) throws -> JSONValue {
    let root = Slot()
    try value.encode(to: TreeEncoder(slot: root, codingPath: []))
    return root.value ?? .null
  }
}

/// A place a value will be written to; containers fill theirs lazily so nested containers can keep writing.
private final class Slot {
  enum Content {
    case value(JSONValue)
    case object([(String, Slot)])
    case array([Slot])
  }

  var content: Content?

  var value: JSONValue? {
    switch content {
    case nil: return nil
    case .value(let value)?: return value
    case .object(let members)?:
      var object = JSONObject()
      for (key, slot) in members { object[key] = slot.value ?? .null }
      return .object(object)
    case .array(let slots)?:
      return .array(slots.map { $0.value ?? .null })
    }
  }

  // Both take the array out of `content` before appending: while `content` still held it, every append copied the
  // whole array (and retained each element), which made encoding quadratic in the members of an object.
  func member(_ key: String) -> Slot {
    guard case .object(var members)? = content else {
      let slot = Slot()
      content = .object([(key, slot)])
      return slot
    }
    content = nil
    defer { content = .object(members) }
    if let existing = members.first(where: { $0.0 == key }) { return existing.1 }
    let slot = Slot()
    members.append((key, slot))
    return slot
  }

  func appendElement() -> Slot {
    let slot = Slot()
    guard case .array(var slots)? = content else {
      content = .array([slot])
      return slot
    }
    content = nil
    slots.append(slot)
    content = .array(slots)
    return slot
  }
}

private struct TreeEncoder: Encoder {
  let slot: Slot
  var codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if slot.content == nil { slot.content = .object([]) }
    return KeyedEncodingContainer(KeyedContainer<Key>(slot: slot, codingPath: codingPath))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    if slot.content == nil { slot.content = .array([]) }
    return UnkeyedContainer(slot: slot, codingPath: codingPath)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    SingleContainer(slot: slot, codingPath: codingPath)
  }
}

/// Turns a leaf into its JSON value; everything else is encoded recursively. The coding path is built only when
/// needed (a nested value or an error), not for every leaf.
private func encodeValue(
  _ value: some Encodable, into slot: Slot, codingPath: @autoclosure () -> [any CodingKey]
) throws {
  switch value {
  case let text as String: slot.content = .value(.string(text))
  case let flag as Bool: slot.content = .value(.bool(flag))
  case let number as Int: slot.content = .value(.number(String(number)))
  case let number as Int8: slot.content = .value(.number(String(number)))
  case let number as Int16: slot.content = .value(.number(String(number)))
  case let number as Int32: slot.content = .value(.number(String(number)))
  case let number as Int64: slot.content = .value(.number(String(number)))
  case let number as UInt: slot.content = .value(.number(String(number)))
  case let number as UInt8: slot.content = .value(.number(String(number)))
  case let number as UInt16: slot.content = .value(.number(String(number)))
  case let number as UInt32: slot.content = .value(.number(String(number)))
  case let number as UInt64: slot.content = .value(.number(String(number)))
  case let number as Double:
    guard number.isFinite else {
      throw EncodingError.invalidValue(
        number, .init(codingPath: codingPath(), debugDescription: "JSON has no \(number)"))
    }
    slot.content = .value(
      .number(number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : "\(number)"))
  case let json as JSONValue: slot.content = .value(json)
  default: try value.encode(to: TreeEncoder(slot: slot, codingPath: codingPath()))
  }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let slot: Slot
  var codingPath: [any CodingKey]

  mutating func encodeNil(forKey key: Key) throws { slot.member(key.stringValue).content = .value(.null) }

  mutating func encode(_ value: some Encodable, forKey key: Key) throws {
    try encodeValue(value, into: slot.member(key.stringValue), codingPath: codingPath + [key])
  }

  // The common leaves directly, without the casts of `encodeValue`.
  mutating func encode(_ value: String, forKey key: Key) throws {
    slot.member(key.stringValue).content = .value(.string(value))
  }

  mutating func encode(_ value: Bool, forKey key: Key) throws {
    slot.member(key.stringValue).content = .value(.bool(value))
  }

  mutating func encode(_ value: Int, forKey key: Key) throws {
    slot.member(key.stringValue).content = .value(.number(String(value)))
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type, forKey key: Key
  ) -> KeyedEncodingContainer<NestedKey> {
    let child = slot.member(key.stringValue)
    child.content = .object([])
    return KeyedEncodingContainer(KeyedContainer<NestedKey>(slot: child, codingPath: codingPath + [key]))
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    let child = slot.member(key.stringValue)
    child.content = .array([])
    return UnkeyedContainer(slot: child, codingPath: codingPath + [key])
  }

  mutating func superEncoder() -> any Encoder { TreeEncoder(slot: slot.member("super"), codingPath: codingPath) }

  mutating func superEncoder(forKey key: Key) -> any Encoder {
    TreeEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key])
  }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
  let slot: Slot
  var codingPath: [any CodingKey]
  var count: Int {
    if case .array(let slots)? = slot.content { return slots.count }
    return 0
  }

  mutating func encodeNil() throws { slot.appendElement().content = .value(.null) }

  mutating func encode(_ value: some Encodable) throws {
    try encodeValue(value, into: slot.appendElement(), codingPath: codingPath)
  }

  mutating func encode(_ value: String) throws { slot.appendElement().content = .value(.string(value)) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
    NestedKey
  > {
    let child = slot.appendElement()
    child.content = .object([])
    return KeyedEncodingContainer(KeyedContainer<NestedKey>(slot: child, codingPath: codingPath))
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
    let child = slot.appendElement()
    child.content = .array([])
    return UnkeyedContainer(slot: child, codingPath: codingPath)
  }

  mutating func superEncoder() -> any Encoder { TreeEncoder(slot: slot.appendElement(), codingPath: codingPath) }
}

private struct SingleContainer: SingleValueEncodingContainer {
  let slot: Slot
  var codingPath: [any CodingKey]

  mutating func encodeNil() throws { slot.content = .value(.null) }

  mutating func encode(_ value: String) throws { slot.content = .value(.string(value)) }

  mutating func encode(_ value: some Encodable) throws {
    try encodeValue(value, into: slot, codingPath: codingPath)
  }
}
