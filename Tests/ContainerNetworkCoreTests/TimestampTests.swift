import ContainerNetworkCore
import TestSupport
import Testing

@Suite struct TimestampTests {
  @Test(arguments: [
    ("2026-11-29T01:06:03.592050558Z", 1_795_914_363, 592_050_558),
    ("1970-01-01T00:00:00Z", 0, 0),
    ("2000-02-29T23:59:59.5Z", 951_868_799, 500_000_000),
    ("1969-12-31T23:59:59Z", -1, 0),
  ])
  func formatsAndParses(text: String, seconds: Int64, nanoseconds: Int32) throws {
    let parsed = try #require(Timestamp(rfc3339: text))
    #expect(parsed == Timestamp(seconds: seconds, nanoseconds: nanoseconds))
    #expect(parsed.description == text)
  }

  @Test func offsetsAreApplied() {
    #expect(Timestamp(rfc3339: "2026-11-29T03:06:03+02:00") == Timestamp(rfc3339: "2026-11-29T01:06:03Z"))
  }

  @Test(arguments: ["", "2026-11-29", "2026-13-01T00:00:00Z", "2026-11-29T01:06:03", "2026-11-29T01:06:03.Z", "x"])
  func rejectsMalformed(text: String) {
    #expect(Timestamp(rfc3339: text) == nil)
  }

  @Test func propertyFormatParseIsIdentity() {
    var generator = SeededGenerator(seed: 0x5eed)
    for _ in 0..<2000 {
      let seconds = Int64.random(in: -5_000_000_000...10_000_000_000, using: &generator)
      let nanos = Int32.random(in: 0..<1_000_000_000, using: &generator)
      let time = Timestamp(seconds: seconds, nanoseconds: nanos)
      #expect(Timestamp(rfc3339: time.description) == time, "\(time)")
    }
  }
}
