import ContainerNetworkCore
import Foundation
import NetavarkBackend
import OrderedJSON
import Testing

/// ``JSONValueDecoder`` reads what Foundation's `JSONDecoder` reads, the same way: Podman's network files and the
/// netavark contract decode to equal values, and bad input fails with the same kind of error.
struct JSONValueDecoderTests {
  @Test(arguments: Fixtures.networkFiles)
  func podmansNetworkFilesDecodeAsWithFoundation(_ name: String) throws {
    let bytes = try Fixtures.bytes("\(name).json")
    let ours = try JSONValueDecoder().decode(Network.self, from: bytes)
    #expect(ours == (try JSONDecoder().decode(Network.self, from: Data(bytes))))
  }

  @Test(arguments: ["setup-portmap.stdin", "setup-static-ip-mac-alias.stdin"])
  func theNetavarkContractDecodesAsWithFoundation(_ name: String) throws {
    let bytes = try Fixtures.bytes(name)
    let ours = try JSONValueDecoder().decode(NetavarkRequest.self, from: bytes)
    let theirs = try JSONDecoder().decode(NetavarkRequest.self, from: Data(bytes))
    #expect(ours.options == theirs.options)
    #expect(ours.networkInfo == theirs.networkInfo)
  }

  struct Numbers: Codable, Equatable {
    var small: UInt8
    var whole: Int
    var real: Double
    var flags: [Bool]
    var maybe: String?
  }

  @Test func scalarsArraysAndOptionals() throws {
    let decoder = JSONValueDecoder()
    let full = #"{"small":255,"whole":1e2,"real":1.5,"flags":[true,false]}"#
    #expect(
      try decoder.decode(Numbers.self, from: Array(full.utf8))
        == Numbers(small: 255, whole: 100, real: 1.5, flags: [true, false], maybe: nil))
    let null = #"{"small":0,"whole":-3,"real":0,"flags":[],"maybe":null}"#
    #expect(try decoder.decode(Numbers.self, from: Array(null.utf8)).maybe == nil)
    #expect(try decoder.decode([String: Int].self, from: Array(#"{"a":1,"b":2}"#.utf8)) == ["a": 1, "b": 2])
  }

  @Test(
    arguments: [
      #"{"small":256,"whole":1,"real":1,"flags":[]}"#,  // out of range
      #"{"small":1,"whole":1.5,"real":1,"flags":[]}"#,  // not whole
      #"{"small":1,"whole":"1","real":1,"flags":[]}"#,  // a string for a number
      #"{"small":1,"whole":1,"real":1}"#,  // a key missing
      #"{"small":1,"whole":1,"real":1,"flags":[1]}"#,  // a number for a boolean
      #"{"small":1,"whole":1,"real":1,"flags":[],"#,  // not JSON
      #"[1]"#,  // not an object
    ])
  func badInputFailsAsWithFoundation(_ text: String) throws {
    #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(Numbers.self, from: Array(text.utf8)) }
    #expect(throws: (any Error).self) { try JSONDecoder().decode(Numbers.self, from: Data(text.utf8)) }
  }
}
