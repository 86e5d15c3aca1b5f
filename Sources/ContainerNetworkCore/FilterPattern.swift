/// A regular expression in Go's RE2 syntax, as Podman's `--filter name=REGEX` takes it.
///
/// Swift's `Regex` backtracks, so a pattern such as `^(a|a)*b$` takes exponential time on a short name. This engine
/// compiles the pattern to an NFA and advances every live state together over the text, so a match costs at most the
/// text length times the program size, whatever the pattern. It works on Unicode scalars, as Go works on runes.
///
/// Where it departs from Go: `\pL` and `\p{Greek}` are refused (Swift has no script tables to build them from), a
/// program over 20 000 instructions is refused (Go allows millions, but every network name pays for its size), and
/// `(?i)` compares simple lower- and uppercase mappings rather than walking Go's fold orbits.
public struct FilterPattern: Sendable, Hashable {
  /// The pattern as given.
  public let pattern: String
  private let program: [Instruction]
  // Case folding costs a few table look-ups per scalar; patterns without `(?i)` skip them.
  private let foldsCase: Bool

  /// Compiles `pattern`; a syntax error or a construct RE2 lacks (backreferences, lookaround) throws
  /// `invalidArgument` with a one-line reason, worded like Go's where Go has a wording.
  public init(_ pattern: String) throws(NetworkError) {
    var parser = Parser(Array(pattern.unicodeScalars))
    let tree = try parser.parse()
    // Counted repeats multiply, so the size is checked on the tree before anything that large is built.
    guard tree.size <= Self.maximumSize else { throw NetworkError(.invalidArgument, "regular expression too large") }
    var compiler = Compiler()
    compiler.emit(tree)
    compiler.program.append(.match)
    self.pattern = pattern
    self.program = compiler.program
    self.foldsCase = compiler.foldsCase
  }

  /// Keeps the cost of one match bounded: matching is O(text length × program size).
  static let maximumSize = 20_000

  /// Whether the pattern matches anywhere in `text`, like Go's `regexp.MatchString`.
  public func matches(_ text: String) -> Bool {
    var simulation = Simulation(program: program, input: text.unicodeScalars.map(\.value))
    return simulation.run(foldsCase: foldsCase)
  }

  // The same text always compiles to the same program, so the text alone decides equality.
  public static func == (lhs: FilterPattern, rhs: FilterPattern) -> Bool { lhs.pattern == rhs.pattern }
  public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }
}

// MARK: - Syntax tree

private enum Assertion {
  case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
}

private indirect enum Node {
  case empty
  case scalar(UInt32, foldsCase: Bool)
  case set(ScalarSet)
  case any(newline: Bool)
  case assertion(Assertion)
  case concatenation([Node])
  case alternation([Node])
  /// `max == nil` is unbounded.
  case repetition(Node, min: Int, max: Int?)

  /// Instructions the compiler will emit, saturating above the limit so that nested repeats cannot overflow.
  var size: Int {
    let cap = FilterPattern.maximumSize + 1
    switch self {
    case .empty: return 0
    case .scalar, .set, .any, .assertion: return 1
    case .concatenation(let items): return min(cap, items.reduce(0) { min(cap, $0 + $1.size) })
    case .alternation(let branches):
      return min(cap, branches.reduce(2 * (branches.count - 1)) { min(cap, $0 + $1.size) })
    case .repetition(let body, let low, let high):
      let inner = body.size
      guard let high else { return min(cap, low == 0 ? inner + 2 : low * inner + 1) }
      return min(cap, low * inner + (high - low) * (inner + 1))
    }
  }

  /// Go's rule: nested counted repeats may not multiply to more than `limit` copies of the innermost expression.
  func repeatsWithin(_ limit: Int) -> Bool {
    switch self {
    case .concatenation(let items), .alternation(let items): return items.allSatisfy { $0.repeatsWithin(limit) }
    case .repetition(let body, let low, let high):
      if high == 0 { return true }
      let count = high ?? low
      if count > limit { return false }
      return body.repeatsWithin(count > 0 ? limit / count : limit)
    default: return true
    }
  }
}

/// Scalars as sorted, disjoint ranges; `negated` applies after case folding, as in Go, so `(?i)[^a]` rejects `A`.
private struct ScalarSet {
  var ranges: [ClosedRange<UInt32>]
  var negated = false
  var foldsCase = false

  func contains(_ scalar: UInt32, _ variants: CaseVariants?) -> Bool {
    var found = rangesContain(scalar)
    if !found, foldsCase, let variants {
      found = rangesContain(variants.lower) || rangesContain(variants.upper) || rangesContain(variants.canonical)
    }
    return found != negated
  }

  private func rangesContain(_ scalar: UInt32) -> Bool {
    var low = 0
    var high = ranges.count
    while low < high {
      let middle = (low + high) / 2
      if ranges[middle].upperBound < scalar {
        low = middle + 1
      } else if ranges[middle].lowerBound > scalar {
        high = middle
      } else {
        return true
      }
    }
    return false
  }
}

private let maximumScalar: UInt32 = 0x10_FFFF

private func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
  var result: [ClosedRange<UInt32>] = []
  for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
    if let last = result.last, range.lowerBound <= last.upperBound + 1 {
      result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
    } else {
      result.append(range)
    }
  }
  return result
}

private func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
  var result: [ClosedRange<UInt32>] = []
  var next: UInt32 = 0
  for range in normalized(ranges) {
    if range.lowerBound > next { result.append(next...range.lowerBound - 1) }
    next = range.upperBound + 1
  }
  if next <= maximumScalar { result.append(next...maximumScalar) }
  return result
}

/// Ranges written as pairs of bounds: "09AZ" is 0-9 and A-Z.
private func ranges(_ bounds: String) -> [ClosedRange<UInt32>] {
  let values = bounds.unicodeScalars.map(\.value)
  return stride(from: 0, to: values.count, by: 2).map { values[$0]...values[$0 + 1] }
}

// Go's Perl and POSIX classes are ASCII-only; `\s` lacks `\v` while `[[:space:]]` has it.
private let perlClasses: [Unicode.Scalar: (ranges: [ClosedRange<UInt32>], negated: Bool)] = [
  "d": (ranges("09"), false), "s": (ranges("\t\n\u{C}\r  "), false), "w": (ranges("09AZ__az"), false),
  "D": (ranges("09"), true), "S": (ranges("\t\n\u{C}\r  "), true), "W": (ranges("09AZ__az"), true),
]

private let posixClasses: [String: [ClosedRange<UInt32>]] = [
  "alnum": ranges("09AZaz"), "alpha": ranges("AZaz"), "ascii": ranges("\u{0}\u{7F}"), "blank": ranges("\t\t  "),
  "cntrl": ranges("\u{0}\u{1F}\u{7F}\u{7F}"), "digit": ranges("09"), "graph": ranges("!~"), "lower": ranges("az"),
  "print": ranges(" ~"), "punct": ranges("!/:@[`{~"), "space": ranges("\t\r  "), "upper": ranges("AZ"),
  "word": ranges("09AZ__az"), "xdigit": ranges("09AFaf"),
]

// MARK: - Case folding

/// Simple (one-scalar) case mappings; `canonical` (lowercase of the uppercase) is shared by a whole fold orbit such as
/// k, K and the Kelvin sign, or σ, ς and Σ.
private struct CaseVariants {
  var lower: UInt32
  var upper: UInt32
  var canonical: UInt32

  init(_ scalar: UInt32) {
    lower = caseMapping(scalar, upper: false)
    upper = caseMapping(scalar, upper: true)
    canonical = caseMapping(upper, upper: false)
  }

  static func hasVariants(_ scalar: UInt32) -> Bool {
    let variants = CaseVariants(scalar)
    return variants.lower != scalar || variants.upper != scalar || variants.canonical != scalar
  }
}

private func caseMapping(_ value: UInt32, upper: Bool) -> UInt32 {
  if value < 0x80 {
    if upper, value >= 0x61, value <= 0x7A { return value - 32 }
    if !upper, value >= 0x41, value <= 0x5A { return value + 32 }
    return value
  }
  guard let scalar = Unicode.Scalar(value) else { return value }
  let mapped = upper ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping
  // A mapping to several scalars (ß to SS) is full case mapping, which Go's simple folding does not do.
  let scalars = mapped.unicodeScalars
  return scalars.count == 1 ? scalars.first!.value : value
}

// MARK: - Parser

/// Recursive descent over Go's grammar. Flags are parser state: `(?i)` holds until the enclosing group closes,
/// across `|`, as in Go.
private struct Parser {
  struct Flags {
    var foldCase = false
    var dotMatchesNewline = false
    var multiLine = false
  }

  let scalars: [Unicode.Scalar]
  var position = 0
  var flags = Flags()
  var depth = 0

  init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

  func peek(_ offset: Int = 0) -> Unicode.Scalar? {
    position + offset < scalars.count ? scalars[position + offset] : nil
  }

  func text(_ range: Range<Int>) -> String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars[range.clamped(to: 0..<scalars.count)])
    return String(view)
  }

  func error(_ reason: String, _ range: Range<Int>? = nil) -> NetworkError {
    NetworkError(.invalidArgument, range.map { "\(reason): `\(text($0))`" } ?? reason)
  }

  mutating func parse() throws(NetworkError) -> Node {
    let tree = try parseAlternation()
    if position < scalars.count { throw error("unexpected )") }
    return tree
  }

  mutating func parseAlternation() throws(NetworkError) -> Node {
    var branches = [try parseConcatenation()]
    while peek() == "|" {
      position += 1
      branches.append(try parseConcatenation())
    }
    return branches.count == 1 ? branches[0] : .alternation(branches)
  }

  mutating func parseConcatenation() throws(NetworkError) -> Node {
    var items: [Node] = []
    var lastRepeat: Int?
    while let next = peek(), next != "|", next != ")" {
      let start = position
      guard let (low, high) = try parseRepeatOperator() else {
        let count = items.count
        try parseAtom(into: &items)
        // Only an item resets this: Go also allows `a*(?i)*`, but that would let repeats nest without bound.
        if items.count != count { lastRepeat = nil }
        continue
      }
      if peek() == "?" { position += 1 }  // Lazy: the same set of matches, so the same answer.
      if let lastRepeat { throw error("invalid nested repetition operator", lastRepeat..<position) }
      guard let operand = items.popLast() else {
        throw error("missing argument to repetition operator", start..<position)
      }
      let repeated = Node.repetition(operand, min: low, max: high)
      if low >= 2 || (high ?? 0) >= 2, !repeated.repeatsWithin(1000) {
        throw error("invalid repeat count", start..<position)
      }
      items.append(repeated)
      lastRepeat = start
    }
    return items.count == 1 ? items[0] : items.isEmpty ? .empty : .concatenation(items)
  }

  /// `* + ? {n} {n,} {n,m}`, or nil when the next token is not one; a `{` that is not a valid count is a literal.
  mutating func parseRepeatOperator() throws(NetworkError) -> (Int, Int?)? {
    switch peek() {
    case "*": position += 1; return (0, nil)
    case "+": position += 1; return (1, nil)
    case "?": position += 1; return (0, 1)
    case "{":
      let start = position
      position += 1
      guard var low = parseInteger() else { position = start; return nil }
      var high: Int? = low
      if peek() == "," {
        position += 1
        if peek() == "}" {
          high = nil
        } else {
          guard let parsed = parseInteger() else { position = start; return nil }
          high = parsed
          if parsed < 0 { low = -1 }
        }
      }
      guard peek() == "}" else { position = start; return nil }
      position += 1
      if low < 0 || low > 1000 || (high ?? 0) > 1000 || low > (high ?? low) {
        throw error("invalid repeat count", start..<position)
      }
      return (low, high)
    default: return nil
    }
  }

  /// Decimal digits without a leading zero, as Go accepts them; -1 when too large to be a valid count anyway.
  mutating func parseInteger() -> Int? {
    guard let first = peek(), ("0"..."9").contains(first) else { return nil }
    if first == "0", let second = peek(1), ("0"..."9").contains(second) { return nil }
    var value = 0
    while let digit = peek(), ("0"..."9").contains(digit) {
      if value >= 0 { value = value >= 100_000_000 ? -1 : value * 10 + Int(digit.value - 0x30) }
      position += 1
    }
    return value
  }

  func literal(_ scalar: UInt32) -> Node {
    .scalar(scalar, foldsCase: flags.foldCase && CaseVariants.hasVariants(scalar))
  }

  mutating func parseAtom(into items: inout [Node]) throws(NetworkError) {
    let scalar = scalars[position]
    switch scalar {
    case "(": try parseGroup(into: &items)
    case "[": items.append(.set(try parseClass()))
    case "\\": try parseBackslash(into: &items)
    case ".":
      position += 1
      items.append(.any(newline: flags.dotMatchesNewline))
    case "^":
      position += 1
      items.append(.assertion(flags.multiLine ? .beginLine : .beginText))
    case "$":
      position += 1
      items.append(.assertion(flags.multiLine ? .endLine : .endText))
    default:
      position += 1
      items.append(literal(scalar.value))
    }
  }

  mutating func parseGroup(into items: inout [Node]) throws(NetworkError) {
    let open = position
    let saved = flags
    position += 1
    if peek() == "?" {
      if peek(1) == "<", peek(2) == "=" || peek(2) == "!" {
        throw error("invalid or unsupported Perl syntax", open..<open + 4)
      }
      if peek(1) == "<" || (peek(1) == "P" && peek(2) == "<") {
        let nameStart = position + (peek(1) == "<" ? 2 : 3)
        guard let close = scalars[nameStart...].firstIndex(of: ">") else {
          throw error("invalid named capture", open..<scalars.count)
        }
        let name = scalars[nameStart..<close]
        guard !name.isEmpty, name.allSatisfy({ $0 == "_" || $0.isASCIIAlphanumeric }) else {
          throw error("invalid named capture", open..<close + 1)
        }
        position = close + 1
      } else if try parseFlags(open: open) {
        return  // `(?flags)`: no group, the flags hold for the rest of the enclosing one.
      }
    }
    // Go bounds the tree's height at 1000, which 1000 nested groups (plus what they hold) exceed.
    depth += 1
    if depth >= 1000 { throw error("expression nests too deeply") }
    let body = try parseAlternation()
    guard peek() == ")" else { throw error("missing closing )") }
    position += 1
    depth -= 1
    flags = saved
    items.append(body)
  }

  /// Parses `?flags)` or `?flags:`; true for the former. Flags are i, m, s and U (which only changes preference).
  mutating func parseFlags(open: Int) throws(NetworkError) -> Bool {
    position += 1
    var negated = false
    var sawFlag = false
    var updated = flags
    while let scalar = peek() {
      position += 1
      switch scalar {
      case "i": updated.foldCase = !negated
      case "m": updated.multiLine = !negated
      case "s": updated.dotMatchesNewline = !negated
      case "U": break
      case "-" where !negated:
        negated = true
        sawFlag = false
        continue
      case ":", ")":
        guard !negated || sawFlag else { throw error("invalid or unsupported Perl syntax", open..<position) }
        flags = updated
        return scalar == ")"
      default: throw error("invalid or unsupported Perl syntax", open..<position)
      }
      sawFlag = true
    }
    throw error("invalid or unsupported Perl syntax", open..<position)
  }

  mutating func parseBackslash(into items: inout [Node]) throws(NetworkError) {
    let start = position
    guard let next = peek(1) else { throw error("trailing backslash at end of expression") }
    let assertions: [Unicode.Scalar: Assertion] = [
      "A": .beginText, "z": .endText, "b": .wordBoundary, "B": .notWordBoundary,
    ]
    if let assertion = assertions[next] {
      position += 2
      items.append(.assertion(assertion))
    } else if next == "Q" {
      // Everything up to `\E` (or the end) is literal.
      position += 2
      while let scalar = peek() {
        if scalar == "\\", peek(1) == "E" {
          position += 2
          break
        }
        items.append(literal(scalar.value))
        position += 1
      }
    } else if next == "p" || next == "P" {
      throw error("unsupported Unicode class", unicodeClass(at: start))
    } else if let perl = perlClasses[next] {
      position += 2
      items.append(.set(ScalarSet(ranges: perl.ranges, negated: perl.negated, foldsCase: flags.foldCase)))
    } else {
      items.append(literal(try parseEscape()))
    }
  }

  /// Where `\pL` or `\p{Greek}` ends, for the error that names it.
  func unicodeClass(at start: Int) -> Range<Int> {
    guard start + 2 < scalars.count, scalars[start + 2] == "{" else { return start..<start + 3 }
    return start..<(scalars[start...].firstIndex(of: "}").map { $0 + 1 } ?? scalars.count)
  }

  /// A single-scalar escape, shared by both contexts: Go has no `\b` (backspace) or `\C` in either.
  mutating func parseEscape() throws(NetworkError) -> UInt32 {
    let start = position
    position += 1
    guard let scalar = peek() else { throw error("trailing backslash at end of expression") }
    position += 1
    let invalid = error("invalid escape sequence", start..<position)
    let octal: ClosedRange<Unicode.Scalar> = "0"..."7"
    switch scalar {
    case "1"..."7", "0":
      // A lone 1-7 would be a backreference, which RE2 does not have.
      guard scalar == "0" || peek().map(octal.contains) == true else { throw invalid }
      var value = scalar.value - 0x30
      for _ in 0..<2 {
        guard let digit = peek(), octal.contains(digit) else { break }
        value = value * 8 + digit.value - 0x30
        position += 1
      }
      return value
    case "x":
      if peek() == "{" {
        position += 1
        var value: UInt32 = 0
        var digits = 0
        while let digit = peek(), digit != "}" {
          position += 1
          guard let nibble = hexValue(digit) else {
            throw error("invalid escape sequence", start..<position)
          }
          value = value * 16 + nibble
          digits += 1
          if value > maximumScalar { throw error("invalid escape sequence", start..<position) }
        }
        guard peek() == "}", digits > 0 else { throw error("invalid escape sequence", start..<position) }
        position += 1
        return value
      }
      guard let high = peek().flatMap(hexValue), let low = peek(1).flatMap(hexValue) else {
        throw error("invalid escape sequence", start..<min(position + 2, scalars.count))
      }
      position += 2
      return high * 16 + low
    case "a": return 0x07
    case "f": return 0x0C
    case "n": return 0x0A
    case "r": return 0x0D
    case "t": return 0x09
    case "v": return 0x0B
    default:
      // Escaped ASCII punctuation is itself; an escaped letter or digit is reserved, so an error.
      guard scalar.isASCII, !scalar.isASCIIAlphanumeric else { throw invalid }
      return scalar.value
    }
  }

  mutating func parseClass() throws(NetworkError) -> ScalarSet {
    position += 1
    var set = ScalarSet(ranges: [], foldsCase: flags.foldCase)
    if peek() == "^" {
      set.negated = true
      position += 1
    }
    var ranges: [ClosedRange<UInt32>] = []
    var first = true
    while true {
      guard let scalar = peek() else { throw error("missing closing ]") }
      if scalar == "]", !first { break }
      first = false
      if scalar == "[", peek(1) == ":", let named = try parseNamedClass() {
        ranges += named
        continue
      }
      if scalar == "\\", let next = peek(1) {
        if next == "p" || next == "P" { throw error("unsupported Unicode class", unicodeClass(at: position)) }
        if let perl = perlClasses[next] {
          ranges += perl.negated ? complement(perl.ranges) : perl.ranges
          position += 2
          continue
        }
      }
      let start = position
      let low = try parseClassScalar()
      var high = low
      if peek() == "-", let after = peek(1), after != "]" {
        position += 1
        high = try parseClassScalar()
        if high < low { throw error("invalid character class range", start..<position) }
      }
      ranges.append(low...high)
    }
    position += 1
    set.ranges = normalized(ranges)
    return set
  }

  mutating func parseClassScalar() throws(NetworkError) -> UInt32 {
    if peek() == "\\" { return try parseEscape() }
    position += 1
    return scalars[position - 1].value
  }

  /// `[:alpha:]` or `[:^alpha:]`; nil when no `:]` follows, and then `[` is an ordinary member, as in Go.
  mutating func parseNamedClass() throws(NetworkError) -> [ClosedRange<UInt32>]? {
    var end = position + 2
    while end + 1 < scalars.count, !(scalars[end] == ":" && scalars[end + 1] == "]") { end += 1 }
    guard end + 1 < scalars.count else { return nil }
    let whole = position..<end + 2
    var name = text(position + 2..<end)
    let negated = name.hasPrefix("^")
    if negated { name.removeFirst() }
    guard let ranges = posixClasses[name] else { throw error("invalid character class range", whole) }
    position = whole.upperBound
    return negated ? complement(ranges) : ranges
  }
}

private func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
  scalar.isASCII ? UInt32(String(scalar), radix: 16) : nil
}

extension Unicode.Scalar {
  fileprivate var isASCIIAlphanumeric: Bool { isASCII && (properties.isAlphabetic || ("0"..."9").contains(self)) }
}

// MARK: - Program

private enum Instruction {
  case scalar(UInt32)
  /// Matches any scalar whose canonical case variant is this one.
  case foldedScalar(UInt32)
  case set(ScalarSet)
  case anyScalar
  case anyButNewline
  case assertion(Assertion)
  case split(Int, Int)
  case jump(Int)
  case match
}

/// Thompson's construction: each node becomes a fragment whose exit is the next instruction.
private struct Compiler {
  var program: [Instruction] = []
  var foldsCase = false

  mutating func emit(_ node: Node) {
    switch node {
    case .empty: break
    case .scalar(let value, let folds):
      foldsCase = foldsCase || folds
      program.append(folds ? .foldedScalar(CaseVariants(value).canonical) : .scalar(value))
    case .set(let set):
      foldsCase = foldsCase || set.foldsCase
      program.append(.set(set))
    case .any(let newline): program.append(newline ? .anyScalar : .anyButNewline)
    case .assertion(let assertion): program.append(.assertion(assertion))
    case .concatenation(let items): items.forEach { emit($0) }
    case .alternation(let branches):
      var exits: [Int] = []
      for branch in branches.dropLast() {
        let split = program.count
        program.append(.split(split + 1, 0))
        emit(branch)
        exits.append(program.count)
        program.append(.jump(0))
        program[split] = .split(split + 1, program.count)
      }
      emit(branches[branches.count - 1])
      for exit in exits { program[exit] = .jump(program.count) }
    case .repetition(let body, let low, .none) where low == 0:
      let loop = program.count
      program.append(.split(loop + 1, 0))
      emit(body)
      program.append(.jump(loop))
      program[loop] = .split(loop + 1, program.count)
    case .repetition(let body, let low, .none):
      for _ in 1..<low { emit(body) }
      let start = program.count
      emit(body)
      program.append(.split(start, program.count + 1))
    case .repetition(let body, let low, let high?):
      for _ in 0..<low { emit(body) }
      // x{2,5} is xx(x(x(x)?)?)?: every optional copy may skip straight to the end.
      var skips: [Int] = []
      for _ in low..<high {
        skips.append(program.count)
        program.append(.split(0, 0))
        emit(body)
      }
      for skip in skips { program[skip] = .split(skip + 1, program.count) }
    }
  }
}

// MARK: - Simulation

/// Pike's VM without captures: the set of live instructions advances one scalar at a time, and a new thread starts at
/// every position because the search is unanchored. Each instruction is added at most once per position, which both
/// bounds the work and ends empty loops such as `(a*)*`.
private struct Simulation {
  let program: [Instruction]
  let input: [UInt32]
  /// The position at which each instruction was last added, instead of clearing a set at every step.
  var addedAt: [Int]
  var pending: [Int] = []

  init(program: [Instruction], input: [UInt32]) {
    self.program = program
    self.input = input
    addedAt = Array(repeating: -1, count: program.count)
  }

  mutating func run(foldsCase: Bool) -> Bool {
    var current: [Int] = []
    var next: [Int] = []
    for position in 0...input.count {
      if add(0, at: position, to: &current) { return true }
      guard position < input.count else { break }
      let scalar = input[position]
      let variants = foldsCase ? CaseVariants(scalar) : nil
      next.removeAll(keepingCapacity: true)
      for pc in current where accepts(program[pc], scalar, variants) {
        if add(pc + 1, at: position + 1, to: &next) { return true }
      }
      swap(&current, &next)
    }
    return false
  }

  /// Follows empty transitions from `start`, collecting the instructions that consume a scalar; true on reaching the
  /// match, which is all an unanchored yes/no search needs.
  mutating func add(_ start: Int, at position: Int, to list: inout [Int]) -> Bool {
    pending.append(start)
    while let pc = pending.popLast() {
      guard addedAt[pc] != position else { continue }
      addedAt[pc] = position
      switch program[pc] {
      case .match:
        pending.removeAll(keepingCapacity: true)
        return true
      case .jump(let target): pending.append(target)
      case .split(let preferred, let other):
        pending.append(other)
        pending.append(preferred)
      case .assertion(let assertion): if holds(assertion, at: position) { pending.append(pc + 1) }
      default: list.append(pc)
      }
    }
    return false
  }

  func accepts(_ instruction: Instruction, _ scalar: UInt32, _ variants: CaseVariants?) -> Bool {
    switch instruction {
    case .scalar(let value): return value == scalar
    case .foldedScalar(let canonical): return variants?.canonical == canonical
    case .set(let set): return set.contains(scalar, variants)
    case .anyScalar: return true
    case .anyButNewline: return scalar != 0x0A
    default: return false
    }
  }

  func holds(_ assertion: Assertion, at position: Int) -> Bool {
    let before = position > 0 ? input[position - 1] : nil
    let after = position < input.count ? input[position] : nil
    switch assertion {
    case .beginText: return position == 0
    case .endText: return position == input.count
    case .beginLine: return before == nil || before == 0x0A
    case .endLine: return after == nil || after == 0x0A
    case .wordBoundary: return isWord(before) != isWord(after)
    case .notWordBoundary: return isWord(before) == isWord(after)
    }
  }

  /// Go's `\b` looks at ASCII word characters only.
  func isWord(_ scalar: UInt32?) -> Bool {
    guard let scalar else { return false }
    return (0x30...0x39).contains(scalar) || (0x41...0x5A).contains(scalar) || (0x61...0x7A).contains(scalar)
      || scalar == 0x5F
  }
}
