import ContainerNetworkCore
import Testing

@Suite struct FilterPatternTests {
  /// (pattern, text, what Go's `regexp.MatchString` returns).
  static let goResults: [(String, String, Bool)] = [
    // Literals, unanchored search, and `.` on Unicode scalars.
    ("", "", true),
    ("", "abc", true),
    ("abc", "xabcx", true),
    ("abc", "ab", false),
    ("a.c", "abc", true),
    ("a.c", "a\nc", false),
    ("a.c", "a☃c", true),
    ("^.$", "😀", true),
    ("^.$", "e\u{301}", false),
    ("é+", "café", true),
    // Character classes.
    ("[abc]", "xbx", true),
    ("[abc]", "xyz", false),
    ("[^a-z]", "abc", false),
    ("[^a-z]", "abC", true),
    ("[^a-z]", "café", true),
    ("[^a]", "\n", true),
    ("[à-ÿ]", "café", true),
    ("[a-c-e]", "d", false),
    ("[a-c-e]", "-", true),
    ("[a-]", "-", true),
    ("[]a]", "]", true),
    ("[]a]", "b", false),
    ("[^]a]", "b", true),
    ("[^]a]", "]", false),
    ("[[]", "[", true),
    ("[a\\]b]", "]", true),
    ("[\\-]", "-", true),
    ("[\\x41-\\x43]", "B", true),
    ("[\\n]", "\n", true),
    ("[\\d]", "5", true),
    ("[\\D]", "5", false),
    ("[^\\d]", "x", true),
    ("[\\w.-]+$", "my-net.1", true),
    ("[\\s\\d]", "a b", true),
    ("[\\S]", " \t", false),
    // POSIX classes inside brackets.
    ("[[:alpha:]]", "1a", true),
    ("[[:alpha:]]", "12", false),
    ("[[:^alpha:]]", "ab", false),
    ("[[:^alpha:]]", "a1", true),
    ("[[:digit:][:upper:]]", "aB", true),
    ("[[:alnum:]]", "-", false),
    ("[[:space:]]", "\u{B}", true),
    ("[[:blank:]]", "\t", true),
    ("[[:blank:]]", "\n", false),
    ("[[:cntrl:]]", "\u{7F}", true),
    ("[[:print:]]", " ", true),
    ("[[:graph:]]", " ", false),
    ("[[:punct:]]", "a_b", true),
    ("[[:punct:]]", "ab", false),
    ("[[:lower:]]", "A", false),
    ("[[:upper:]]", "A", true),
    ("[[:word:]]", "_", true),
    ("^[[:xdigit:]]+$", "cafe", true),
    ("^[[:xdigit:]]+$", "cafg", false),
    ("[[:ascii:]]", "é", false),
    // Escapes.
    ("\\d+", "ab12", true),
    ("\\D", "123", false),
    ("\\w", "-.", false),
    ("\\W", "a-", true),
    ("\\s", "a b", true),
    ("\\s", "\u{B}", false),
    ("\\S", "  ", false),
    ("\\.", "a", false),
    ("\\.", ".", true),
    ("a\\+b", "a+b", true),
    ("\\(\\)\\[\\]\\{\\}\\|\\*\\?\\^\\$\\\\", "()[]{}|*?^$\\", true),
    ("\\_\\-\\/", "_-/", true),
    ("\\t", "\t", true),
    ("\\n", "\n", true),
    ("\\r", "\r", true),
    ("\\f", "\u{C}", true),
    ("\\v", "\u{B}", true),
    ("\\a", "\u{7}", true),
    ("\\x41", "A", true),
    ("\\x41", "a", false),
    ("\\x{263a}", "☺", true),
    ("\\x{1F600}", "😀", true),
    ("\\101", "A", true),
    ("\\0", "\u{0}", true),
    ("\\Qa.b\\E", "axb", false),
    ("\\Qa.b\\E+", "a.bb", true),
    ("\\Q(a\\E", "(a", true),
    // Anchors: `$` without (?m) is the very end, like \z.
    ("^abc", "abcd", true),
    ("^abc", "xabc", false),
    ("abc$", "xabc", true),
    ("abc$", "abc\n", false),
    ("(?m)abc$", "abc\nx", true),
    ("(?m)^x", "abc\nx", true),
    ("^x", "abc\nx", false),
    ("\\Aabc", "abc", true),
    ("\\Abc", "abc", false),
    ("(?m)\\Ax", "a\nx", false),
    ("abc\\z", "abc", true),
    ("abc\\z", "abc\n", false),
    ("(?m)x\\z", "x\na", false),
    ("^$", "", true),
    ("^$", "a\n\nb", false),
    ("(?m)^$", "a\n\nb", true),
    ("^", "anything", true),
    ("$", "", true),
    ("a^b", "ab", false),
    ("^*a", "ba", true),
    // Word boundaries (ASCII word characters, as in Go).
    ("\\bfoo\\b", "a foo b", true),
    ("\\bfoo\\b", "afoo", false),
    ("\\Boo\\B", "fool", true),
    ("\\Bfoo", "foo", false),
    ("\\b", "", false),
    ("\\B", "", true),
    ("\\b", "é", false),
    ("\\bnet\\b", "my_net", false),
    ("\\bnet\\b", "my-net", true),
    // Groups.
    ("(ab)+", "xababx", true),
    ("^(?:ab){2}$", "abab", true),
    ("(?:ab){2}", "abxab", false),
    ("(?P<name>a+)b", "aab", true),
    ("(?<name>x)", "x", true),
    ("(?P<n_1>x)(?P<n_1>y)", "xy", true),
    ("()", "", true),
    ("a(?)b", "ab", true),
    ("(|a)b", "b", true),
    ("a||b", "c", true),
    ("a|", "c", true),
    ("a|b|c", "xcx", true),
    ("^(?:a|bc)$", "bc", true),
    ("^(?:a|bc)$", "ab", false),
    ("^(ab|c){2}$", "abc", true),
    // Flags.
    ("(?i)abc", "xAbCx", true),
    ("abc", "ABC", false),
    ("(?i:a)b", "Ab", true),
    ("(?i:a)b", "AB", false),
    ("(?i)a(?-i)b", "AB", false),
    ("(?i)a(?-i)b", "Ab", true),
    ("(?i)a|b", "B", true),
    ("(a(?i)b)c", "aBc", true),
    ("(a(?i)b)c", "aBC", false),
    ("(?i)^[a-c]+$", "ABC", true),
    ("(?i)[^a]", "A", false),
    ("(?i)[[:lower:]]", "A", true),
    ("(?i)\\W", "A", false),
    ("(?i)k", "\u{212A}", true),
    ("(?i)\u{212A}", "k", true),
    ("(?i)[a-z]", "\u{17F}", true),
    ("(?i)é", "É", true),
    ("(?i)σ", "Σ", true),
    ("(?i)σ", "ς", true),
    ("(?i)straße", "STRASSE", false),
    ("(?i)\\x41", "a", true),
    ("(?s).", "\n", true),
    ("(?s:.)", "\n", true),
    ("(?s-s:.)", "\n", false),
    ("(?m:^b)", "a\nb", true),
    ("(?i-s:A.)", "a\n", false),
    ("(?i-s:A.)", "ab", true),
    ("(?ims)^A.$", "x\na\n", true),
    ("(?U)^a+$", "aaa", true),
    // Quantifiers, greedy and lazy.
    ("^a*$", "", true),
    ("^a+$", "", false),
    ("^a+$", "aaa", true),
    ("^a?b$", "b", true),
    ("^a?b$", "aab", false),
    ("^a{3}$", "aaa", true),
    ("^a{3}$", "aaaa", false),
    ("^a{2,}$", "aaaaa", true),
    ("^a{2,}$", "a", false),
    ("^a{2,3}$", "aaaa", false),
    ("^a{2,3}$", "aa", true),
    ("^a{0}$", "", true),
    ("^a{0}$", "a", false),
    ("^a{0,0}b$", "b", true),
    ("^a{1000}$", String(repeating: "a", count: 1000), true),
    ("^a{1000}$", String(repeating: "a", count: 999), false),
    ("^(?:a{2}){500}$", String(repeating: "a", count: 1000), true),
    ("^a*?$", "aaa", true),
    ("^a+?b", "aab", true),
    ("^a??b", "ab", true),
    ("^a{2,3}?$", "aaa", true),
    ("^a{2}?$", "aa", true),
    ("^a{2,}?$", "a", false),
    ("^(?:[a-z]{4}){0,250}$", String(repeating: "abcd", count: 250), true),
    ("^((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}))$", String(repeating: "x", count: 512), true),
    // A `{` that does not start a valid count is a literal.
    ("a{", "a{", true),
    ("x{1001", "x{1001", true),
    ("x{9876543210", "x{9876543210", true),
    ("x{2,1", "x{2,1", true),
    ("a*{", "aa{", true),
    ("a{,2}", "a{,2}", true),
    ("a{1", "a{1", true),
    ("a{1,2", "a{1,2", true),
    ("x{01}", "x{01}", true),
    ("a{x}", "a{x}", true),
    ("{", "{", true),
    ("}", "}", true),
    // Loops that can match the empty string.
    ("(a*)*$", "b", true),
    ("^(a*)*$", "aab", false),
    ("(|a)*$", "aab", true),
    ("(a*)+b", "aab", true),
    ("^(a?){3}a{3}$", "aaa", true),
    // Names the way `--filter name=` meets them.
    ("net", "mynetwork", true),
    ("^podman\\d*$", "podman1", true),
    ("^podman\\d*$", "podman-x", false),
    ("^(default|podman)$", "podman", true),
    ("^cni-", "cni-podman0", true),
    ("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", "my.net_1-2", true),
    ("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", "-net", false),
  ]

  @Test(arguments: goResults)
  func matchesLikeGo(pattern: String, text: String, expected: Bool) throws {
    #expect(try FilterPattern(pattern).matches(text) == expected)
  }

  /// (pattern, the start of Go's reason).
  static let invalidPatterns: [(String, String)] = [
    ("(", "missing closing )"),
    ("(a", "missing closing )"),
    ("(?:a", "missing closing )"),
    ("a)", "unexpected )"),
    (")", "unexpected )"),
    ("[a", "missing closing ]"),
    ("[]", "missing closing ]"),
    ("[^]", "missing closing ]"),
    ("[a-", "missing closing ]"),
    ("[[:alpha:]", "missing closing ]"),
    ("[z-a]", "invalid character class range"),
    ("[[:foo:]]", "invalid character class range"),
    ("*", "missing argument to repetition operator"),
    ("+a", "missing argument to repetition operator"),
    ("?", "missing argument to repetition operator"),
    ("(*)", "missing argument to repetition operator"),
    ("a|*", "missing argument to repetition operator"),
    ("{2}", "missing argument to repetition operator"),
    ("(?i)*", "missing argument to repetition operator"),
    ("a**", "invalid nested repetition operator"),
    ("a*+", "invalid nested repetition operator"),
    ("a*??", "invalid nested repetition operator"),
    ("a{2}{3}", "invalid nested repetition operator"),
    ("a{1001}", "invalid repeat count"),
    ("a{2,1}", "invalid repeat count"),
    ("a{1000,1001}", "invalid repeat count"),
    ("a{100000000}", "invalid repeat count"),
    ("{1001}", "invalid repeat count"),
    ("(a{2}){501}", "invalid repeat count"),
    ("(a{1000}){1000}", "invalid repeat count"),
    ("((a{10}){10}){11}", "invalid repeat count"),
    ("\\", "trailing backslash at end of expression"),
    ("a\\", "trailing backslash at end of expression"),
    ("\\Z", "invalid escape sequence"),
    ("\\1", "invalid escape sequence"),
    ("(a)\\1", "invalid escape sequence"),
    ("\\8", "invalid escape sequence"),
    ("\\C", "invalid escape sequence"),
    ("\\q", "invalid escape sequence"),
    ("\\é", "invalid escape sequence"),
    ("\\x", "invalid escape sequence"),
    ("\\xZZ", "invalid escape sequence"),
    ("\\x{}", "invalid escape sequence"),
    ("\\x{110000}", "invalid escape sequence"),
    ("\\x{41", "invalid escape sequence"),
    ("[\\b]", "invalid escape sequence"),
    ("[a-\\d]", "invalid escape sequence"),
    ("(?=a)", "invalid or unsupported Perl syntax"),
    ("(?!a)", "invalid or unsupported Perl syntax"),
    ("(?<=a)b", "invalid or unsupported Perl syntax"),
    ("(?<!a)b", "invalid or unsupported Perl syntax"),
    ("(?x)a", "invalid or unsupported Perl syntax"),
    ("(?", "invalid or unsupported Perl syntax"),
    ("(?i", "invalid or unsupported Perl syntax"),
    ("(?-)", "invalid or unsupported Perl syntax"),
    ("(?i-)", "invalid or unsupported Perl syntax"),
    ("(?--i)", "invalid or unsupported Perl syntax"),
    ("(?P=name)", "invalid or unsupported Perl syntax"),
    ("(?P<>a)", "invalid named capture"),
    ("(?P<a-b>x)", "invalid named capture"),
    ("(?<name", "invalid named capture"),
    ("(?P<name", "invalid named capture"),
    ("\\pL", "unsupported Unicode class"),
    ("[\\p{Greek}]", "unsupported Unicode class"),
    ("[a-Z]", "invalid character class range"),
    ("(?i)[a-Z]", "invalid character class range"),
    ("(?P<x y>a)", "invalid named capture"),
    ("\\Q\\E*", "missing argument to repetition operator"),
    ("a?*", "invalid nested repetition operator"),
    (".{1}{2}.{3}", "invalid nested repetition operator"),
    ("((((((((((x{2}){2}){2}){2}){2}){2}){2}){2}){2}){2})", "invalid repeat count"),
    ("(?:[a-z]{4}){0,251}", "invalid repeat count"),
    (String(repeating: "(", count: 1000) + String(repeating: ")", count: 1000), "expression nests too deeply"),
    (String(repeating: "(?:", count: 1000) + String(repeating: ")*", count: 1000), "expression nests too deeply"),
    ("(" + String(repeating: "(xx?)", count: 1000) + "){1000}", "regular expression too large"),
    (String(repeating: "(xx?){1000}", count: 1000), "regular expression too large"),
    ("(abcdefghijklmnopqrstuvwxy){1000}", "regular expression too large"),
    (String(repeating: "[a-z]{1000}", count: 21), "regular expression too large"),
  ]

  @Test(arguments: invalidPatterns)
  func invalidPatternsAreErrors(pattern: String, reason: String) {
    let error = #expect(throws: NetworkError.self) { try FilterPattern(pattern) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.message.hasPrefix(reason) == true, "\(error?.message ?? "")")
    #expect(error?.message.contains("\n") == false)
  }

  @Test func reasonsNameTheOffendingText() throws {
    let error = #expect(throws: NetworkError.self) { try FilterPattern("ab(?=c)") }
    #expect(error?.message == "invalid or unsupported Perl syntax: `(?=`")
    #expect(throws: NetworkError(.invalidArgument, "invalid escape sequence: `\\Z`")) { try FilterPattern("a\\Z") }
    #expect(throws: NetworkError(.invalidArgument, "invalid repeat count: `{1001}`")) { try FilterPattern("a{1001}") }
  }

  /// Deep but legal nesting compiles and runs without exhausting the stack.
  @Test func deepNestingIsFine() throws {
    let pattern = String(repeating: "(", count: 999) + "a" + String(repeating: ")*", count: 999) + "$"
    #expect(try FilterPattern(pattern).matches("aaab"))
    #expect(try !FilterPattern("^" + pattern).matches("aaab"))
  }

  /// Each of these takes exponential time in a backtracking engine; here they must simply finish.
  @Test(arguments: [
    ("^(a|a)*b$", String(repeating: "a", count: 10_000)),
    ("^(a*)*$", String(repeating: "a", count: 10_000) + "b"),
    ("(x+x+)+y", String(repeating: "x", count: 10_000)),
    ("^(a|aa)+$", String(repeating: "a", count: 10_000) + "!"),
    ("(?i)^([a-z]+[0-9]*)+$", String(repeating: "a1", count: 5_000) + "-"),
  ])
  func pathologicalPatternsFinish(pattern: String, text: String) throws {
    #expect(try !FilterPattern(pattern).matches(text))
  }

  @Test func equalityFollowsThePatternText() throws {
    #expect(try FilterPattern("a+") == FilterPattern("a+"))
    #expect(try FilterPattern("a+") != FilterPattern("aa*"))
    #expect(try Set([FilterPattern("x"), FilterPattern("x")]).count == 1)
    #expect(try FilterPattern("a+").pattern == "a+")
  }

  /// Random patterns over a, b, `.`, `*`, `+`, `?`, `|` and groups agree with Swift's `Regex`, which is right but
  /// slow; on strings over {a, b} the two syntaxes and semantics coincide.
  @Test(arguments: 0..<8)
  func agreesWithSwiftRegex(seed: UInt64) throws {
    var random = SplitMix64(seed: seed)
    for _ in 0..<100 {
      // Unanchored, most random patterns match almost everything; anchoring some makes "false" common too.
      let body = Self.randomPattern(&random, depth: 0).0
      let pattern = [body, "^(?:\(body))$", "^(?:\(body))", "(?:\(body))$"][Int.random(in: 0..<4, using: &random)]
      let compiled = try FilterPattern(pattern)
      let reference = try Regex(pattern)
      for _ in 0..<20 {
        let length = Int.random(in: 0...8, using: &random)
        let text = String((0..<length).map { _ in Bool.random(using: &random) ? "a" : "b" })
        #expect(compiled.matches(text) == text.contains(reference), "\(pattern) on \"\(text)\"")
      }
    }
  }

  /// A random pattern, and whether it holds a `*` or `+`. A loop is never put around a group that holds one: that
  /// nesting is what makes Swift's backtracking exponential (one such case took 75 s on 8 letters).
  static func randomPattern(_ random: inout SplitMix64, depth: Int) -> (String, hasLoop: Bool) {
    var hasLoop = false
    let branches = (0..<Int.random(in: 1...3, using: &random)).map { _ in
      (0..<[0, 1, 1, 2, 2, 3][Int.random(in: 0..<6, using: &random)]).map { _ in
        var atom: String
        var innerLoop = false
        switch Int.random(in: 0..<(depth < 3 ? 5 : 4), using: &random) {
        case 0, 1: atom = Bool.random(using: &random) ? "a" : "b"
        case 2: atom = "."
        case 3: atom = "a"
        default:
          let (inner, loops) = randomPattern(&random, depth: depth + 1)
          atom = "(" + inner + ")"
          innerLoop = loops
        }
        let quantifier = ["", "", "*", "+", "?"][Int.random(in: 0..<(innerLoop ? 2 : 5), using: &random)]
        hasLoop = hasLoop || innerLoop || quantifier == "*" || quantifier == "+"
        return atom + quantifier
      }.joined()
    }
    return (branches.joined(separator: "|"), hasLoop)
  }
}

/// A small seeded generator so that a failing random case can be replayed.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var value = state
    value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
    value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
    return value ^ (value >> 31)
  }
}
