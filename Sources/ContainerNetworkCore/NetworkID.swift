/// Network IDs of CNI networks: the hex SHA-256 of the name, as Podman derives them.
public enum NetworkID {
  /// 64 lowercase hex digits.
  public static func of(name: String) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(64)
    for byte in SHA256.hash(Array(name.utf8)) {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// Whether `text` has the shape of a full network ID.
  public static func isFullID(_ text: String) -> Bool {
    text.utf8.count == 64 && text.utf8.allSatisfy { isHexDigit($0) }
  }
}

func isHexDigit(_ byte: UInt8) -> Bool {
  (48...57).contains(byte) || (97...102).contains(byte) || (65...70).contains(byte)
}
