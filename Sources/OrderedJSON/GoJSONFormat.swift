/// Writes JSON the way Go's `json.MarshalIndent` does, so that files we write are byte for byte what Podman writes.
///
/// Go escapes `<`, `>`, `&`, U+2028 and U+2029 for HTML safety; a reader that diffs our file against Podman's sees no
/// difference either way.
public enum GoJSONFormat {
  /// `value` as Go writes it: with `indent` per level like `json.MarshalIndent`, or compact like `json.Marshal`
  /// when `indent` is nil.
  public static func indented(_ value: JSONValue, indent: String?) -> [UInt8] {
    var output: [UInt8] = []
    output.reserveCapacity(1024)
    write(value, depth: 0, indent: indent.map { Array($0.utf8) }, to: &output)
    return output
  }

  private static func write(_ value: JSONValue, depth: Int, indent: [UInt8]?, to output: inout [UInt8]) {
    func newline(_ level: Int) {
      guard let indent else { return }
      output.append(0x0A)
      for _ in 0..<level { output.append(contentsOf: indent) }
    }
    switch value {
    case .null: output.append(contentsOf: "null".utf8)
    case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
    case .number(let text): output.append(contentsOf: text.utf8)
    case .string(let text): writeString(text, to: &output)
    case .array(let elements):
      output.append(UInt8(ascii: "["))
      if elements.isEmpty {
        output.append(UInt8(ascii: "]"))
        return
      }
      for (index, element) in elements.enumerated() {
        if index > 0 { output.append(UInt8(ascii: ",")) }
        newline(depth + 1)
        write(element, depth: depth + 1, indent: indent, to: &output)
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
        writeString(member.key, to: &output)
        output.append(contentsOf: indent == nil ? ":".utf8 : ": ".utf8)
        write(member.value, depth: depth + 1, indent: indent, to: &output)
      }
      newline(depth)
      output.append(UInt8(ascii: "}"))
    }
  }

  private static func writeString(_ text: String, to output: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    func unicodeEscape(_ value: UInt32) {
      output.append(contentsOf: "\\u".utf8)
      for shift in stride(from: 12, through: 0, by: -4) { output.append(hex[Int((value >> UInt32(shift)) & 0xF)]) }
    }
    output.append(UInt8(ascii: "\""))
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": output.append(contentsOf: "\\\"".utf8)
      case "\\": output.append(contentsOf: "\\\\".utf8)
      case "\n": output.append(contentsOf: "\\n".utf8)
      case "\r": output.append(contentsOf: "\\r".utf8)
      case "\t": output.append(contentsOf: "\\t".utf8)
      case "<", ">", "&", "\u{2028}", "\u{2029}": unicodeEscape(scalar.value)
      default:
        if scalar.value < 0x20 {
          unicodeEscape(scalar.value)
        } else {
          output.append(contentsOf: String(scalar).utf8)
        }
      }
    }
    output.append(UInt8(ascii: "\""))
  }
}
