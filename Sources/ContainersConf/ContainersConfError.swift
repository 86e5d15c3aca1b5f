/// Why a containers.conf file could not be used: which file, where in it, and what is wrong.
public struct ContainersConfError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The file at fault, as it was named to the loader.
  public var file: String
  /// The 1-based line of a TOML syntax error; nil for errors about a key or about the whole file.
  public var line: Int?
  /// The 1-based column of a TOML syntax error, when known.
  public var column: Int?
  /// The key at fault, dotted as written in the file, e.g. `network.default_subnet_pools[0].size`.
  public var key: String?
  /// What is wrong, without the file, line or key.
  public var message: String

  /// An error about `file`, optionally at a position or a key.
  public init(file: String, line: Int? = nil, column: Int? = nil, key: String? = nil, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.key = key
    self.message = message
  }

  /// One line, e.g. `containers.conf /etc/containers/containers.conf: line 3, column 9: expected ']'` or
  /// `containers.conf /x.conf: network.dns_bind_port: expected an integer 0…65535, found 70000`.
  ///
  /// Control characters and line separators, which a path, a key or the TOML parser's message may hold, are
  /// escaped so that the message stays on one line of a log.
  public var description: String {
    var text = "containers.conf \(file): "
    if let line {
      text += "line \(line)"
      if let column { text += ", column \(column)" }
      text += ": "
    }
    if let key { text += "\(key): " }
    text += message
    return Self.escapingControlCharacters(text)
  }

  private static let lineBreaking: Set<Unicode.GeneralCategory> = [.control, .lineSeparator, .paragraphSeparator]

  private static func escapingControlCharacters(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where Self.lineBreaking.contains(scalar.properties.generalCategory):
        result += "\\u{\(String(scalar.value, radix: 16))}"
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result
  }
}
