import OrderedJSON
import Testing

/// `JSONValue.serialized()` and `GoJSONFormat` write through one writer: the same bytes, apart from Go's HTML escapes.
@Suite struct OrderedJSONWritingTests {
  /// Escapes, control characters, non-ASCII text, nesting, empty containers, number text and unsorted keys.
  static let tricky: JSONValue = [
    "z": ["\"q\" \\ /", "tab\tnl\nret\r", "\u{01}\u{1F}\u{7F}", "é😀\u{FEFF}"],
    "a": [
      [], [:], [[1, "x"]],
      ["k": [.number("1.50"), .number("-0"), .number("1e3"), .number("12345678901234567890"), .number("1E+2")]],
    ],
    "m": ["nested": ["deeper": [nil, true, false]], "key\"with\\escapes\n": .number("0.000001")],
  ]

  static let trickyCompact =
    #"{"z":["\"q\" \\ /","tab\tnl\nret\r","\u0001\u001f\#u{7F}","é😀\#u{FEFF}"],"#
    + #""a":[[],{},[[1,"x"]],{"k":[1.50,-0,1e3,12345678901234567890,1E+2]}],"#
    + #""m":{"nested":{"deeper":[null,true,false]},"key\"with\\escapes\n":0.000001}}"#

  @Test func compactPathsWriteTheSameBytes() throws {
    let serialized = Self.tricky.serialized()
    let goCompact = GoJSONFormat.indented(Self.tricky, indent: nil)
    #expect(serialized == goCompact)
    #expect(String(decoding: serialized, as: UTF8.self) == Self.trickyCompact)
    #expect(Self.tricky.jsonString == Self.trickyCompact)
    #expect(try JSONValue.parse(serialized) == Self.tricky)
  }

  @Test func indentedLayoutMatchesGo() throws {
    let indented = GoJSONFormat.indented(Self.tricky, indent: "  ")
    let expected = #"""
      {
        "z": [
          "\"q\" \\ /",
          "tab\tnl\nret\r",
          "\u0001\u001f\#u{7F}",
          "é😀\#u{FEFF}"
        ],
        "a": [
          [],
          {},
          [
            [
              1,
              "x"
            ]
          ],
          {
            "k": [
              1.50,
              -0,
              1e3,
              12345678901234567890,
              1E+2
            ]
          }
        ],
        "m": {
          "nested": {
            "deeper": [
              null,
              true,
              false
            ]
          },
          "key\"with\\escapes\n": 0.000001
        }
      }
      """#
    #expect(String(decoding: indented, as: UTF8.self) == expected)
    #expect(try JSONValue.parse(indented) == Self.tricky)
  }

  /// Only Go's layout escapes `<`, `>`, `&`, U+2028 and U+2029; `serialized()` writes them as they are.
  @Test func htmlEscapesOnlyInGoLayout() {
    let value: JSONValue = ["<a href=\"x\">&</a>": "\u{2028}\u{2029}<>&"]
    #expect(value.jsonString == "{\"<a href=\\\"x\\\">&</a>\":\"\u{2028}\u{2029}<>&\"}")
    #expect(
      String(decoding: GoJSONFormat.indented(value, indent: nil), as: UTF8.self)
        == #"{"\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e":"\u2028\u2029\u003c\u003e\u0026"}"#)
    #expect(
      String(decoding: GoJSONFormat.indented(value, indent: "\t"), as: UTF8.self)
        == "{\n\t" + #""\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e": "\u2028\u2029\u003c\u003e\u0026""# + "\n}")
  }
}
