// Small helpers shared by the parsers and the Codable conformances of this module.

func decimalDigit(_ byte: UInt8) -> UInt8? {
  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? byte - UInt8(ascii: "0") : nil
}

func hexDigit(_ byte: UInt8) -> UInt8? {
  switch byte {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
  case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
  case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
  default: nil
  }
}

/// Decodes any of this module's string-coded types, naming the bad value in the error.
func decodeFromString<T: LosslessStringConvertible>(_ decoder: any Decoder, kind: String) throws -> T {
  let container = try decoder.singleValueContainer()
  let text = try container.decode(String.self)
  guard let value = T(text) else {
    throw DecodingError.dataCorrupted(
      DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "invalid \(kind): \(text)")
    )
  }
  return value
}
