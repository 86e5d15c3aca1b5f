/// Encodes a dictionary with its keys in sorted order, as Go's encoding/json writes maps.
///
/// Swift's `Dictionary` encodes in hash order, which changes from run to run; sorted keys make our JSON stable and
/// equal to Podman's.
public struct SortedDictionary<Value: Encodable>: Encodable {
  public let dictionary: [String: Value]

  public init(_ dictionary: [String: Value]) { self.dictionary = dictionary }

  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for key in dictionary.keys.sorted() {
      try container.encode(dictionary[key]!, forKey: Key(stringValue: key))
    }
  }
}
