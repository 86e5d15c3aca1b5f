import NetworkAddress
import TOMLKit

/// Lays one file over a configuration the way Podman's TOML decoder fills its config struct: a key the file sets
/// replaces the earlier value, a key it leaves out keeps it, and keys and tables this module does not read are
/// ignored, as Podman ignores keys it does not know.
struct FileDecoder {
  /// The file's name, for errors and for ``ContainersConf/files``.
  let file: String

  /// Validates `bytes` as UTF-8 and lays them over `conf`; on error `conf` is left as it was.
  func merge(_ bytes: [UInt8], into conf: inout ContainersConf) throws(ContainersConfError) {
    // Podman's files are ASCII, checked without the copy that the standard library's validation makes; the scalar
    // walk runs only to name the bad line.
    let ascii = bytes.withUnsafeBufferPointer { $0.reduce(0, |) } < 0x80
    guard ascii || String(validating: bytes, as: UTF8.self) != nil else {
      var parser = Unicode.UTF8.ForwardParser()
      var iterator = bytes.makeIterator()
      var offset = 0
      while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
      // Decoding with replacement would hand the parser U+FFFD and hide the damage; Podman rejects it too.
      throw ContainersConfError(file: file, line: line(at: offset, in: bytes), message: "not valid UTF-8")
    }
    try mergeValidated(bytes, into: &conf)
  }

  /// Parses `text` and lays it over `conf`; on error `conf` is left as it was.
  func merge(_ text: String, into conf: inout ContainersConf) throws(ContainersConfError) {
    try mergeValidated(Array(text.utf8), into: &conf)
  }

  /// `bytes` are valid UTF-8. Every `cnet` command reads Podman's 24 KB stock file, so the checks and the comment
  /// stripping work on the bytes, not on a `String`'s views (a third of a `cnet setup`'s own instructions were
  /// spent here before).
  private func mergeValidated(_ bytes: [UInt8], into conf: inout ContainersConf) throws(ContainersConfError) {
    // The parser takes a C string, so it would stop at a NUL and silently drop the rest of the file.
    if let nul = bytes.firstIndex(of: 0) {
      throw ContainersConfError(
        file: file, line: line(at: nul, in: bytes), message: "NUL character, which TOML does not allow")
    }
    let root: TOMLTable
    do {
      root = try TOMLTable(string: Self.withoutCommentLines(bytes))
    } catch let error as TOMLParseError {
      throw ContainersConfError(
        file: file, line: error.source.begin.line, column: error.source.begin.column,
        message: error.description)
    } catch {
      throw ContainersConfError(file: file, message: "\(error)")
    }
    // TOMLKit never frees a parsed document; clearing it frees every node, leaving only the empty root behind.
    defer { root.clear() }
    var result = conf
    try apply(root, to: &result)
    result.files.append(file)
    conf = result
  }

  /// `text` with every line that is only a comment emptied, its line break kept so that error lines stay right.
  static func withoutCommentLines(_ text: String) -> String {
    withoutCommentLines(Array(text.utf8))
  }

  /// Podman's stock containers.conf is 24 KB, almost all of it comments, and toml++ reads comments one character at
  /// a time: 1.5 ms of every `cnet` command, measured with perf. Lines inside a multi-line string are content, so
  /// they are kept; the scan follows `"""` and `'''`, and a comment line holding either is kept as well, so that
  /// a misjudged string can only cost time, never change what a key reads.
  static func withoutCommentLines(_ input: [UInt8]) -> String {
    let newline = UInt8(ascii: "\n")
    let hash = UInt8(ascii: "#")
    return input.withUnsafeBufferPointer { bytes in
      String(unsafeUninitializedCapacity: bytes.count) { output in
        var written = 0
        // The quote character of the multi-line string the scan is in, if any.
        var openQuote: UInt8? = nil
        var start = 0
        while start < bytes.count {
          var end = start
          while end < bytes.count && bytes[end] != newline { end += 1 }
          var firstVisible: UInt8? = nil
          var hasDelimiter = false
          var index = start
          while index < end {
            let byte = bytes[index]
            if firstVisible == nil && byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
              firstVisible = byte
              // A comment line outside a string: only a delimiter further on could keep it.
              if byte == hash && openQuote == nil {
                var probe = index + 1
                while probe + 2 < end
                  && !((bytes[probe] == UInt8(ascii: "\"") || bytes[probe] == UInt8(ascii: "'"))
                    && bytes[probe + 1] == bytes[probe] && bytes[probe + 2] == bytes[probe])
                {
                  probe += 1
                }
                if probe + 2 >= end { break }
                index = probe
                continue
              }
            }
            if (byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")) && index + 2 < end
              && bytes[index + 1] == byte && bytes[index + 2] == byte
            {
              hasDelimiter = true
              if openQuote == nil {
                openQuote = byte
              } else if openQuote == byte {
                openQuote = nil
              }
              index += 3
            } else {
              index += 1
            }
          }
          let isComment = openQuote == nil && !hasDelimiter && firstVisible == hash
          if !isComment {
            for offset in start..<end { output[written + offset - start] = bytes[offset] }
            written += end - start
          }
          if end < bytes.count {
            output[written] = newline
            written += 1
          }
          start = end + 1
        }
        return written
      }
    }
  }

  private func apply(_ root: TOMLTable, to conf: inout ContainersConf) throws(ContainersConfError) {
    let top = Keys(root, path: "")
    if let section = top.member("network") {
      let network = try table(section)
      if let member = network.member("network_backend") { conf.networkBackend = try string(member) }
      if let member = network.member("network_config_dir") { conf.networkConfigDirectory = try string(member) }
      if let member = network.member("default_network") { conf.defaultNetwork = try string(member) }
      if let member = network.member("default_subnet") { conf.defaultSubnet = try subnet(member) }
      if let member = network.member("default_subnet_pools") { conf.defaultSubnetPools = try pools(member) }
      if let member = network.member("cni_plugin_dirs") { try merge(.cniPluginDirectories, member, into: &conf) }
      if let member = network.member("firewall_driver") { conf.firewallDriver = try string(member) }
      if let member = network.member("dns_bind_port") { conf.dnsBindPort = try port(member) }
    }
    if let section = top.member("engine") {
      let engine = try table(section)
      if let member = engine.member("helper_binaries_dir") {
        try merge(.helperBinariesDirectories, member, into: &conf)
      }
    }
  }

  // MARK: - Values

  private func table(_ member: Member) throws(ContainersConfError) -> Keys {
    guard let table = member.value.table else { throw mismatch(member, expected: "a table") }
    return Keys(table, path: member.path)
  }

  /// A string value; nil for `""`, which Podman takes as "use the default".
  private func string(_ member: Member) throws(ContainersConfError) -> String? {
    guard let text = member.value.string else { throw mismatch(member, expected: "a string") }
    return text.isEmpty ? nil : text
  }

  private func subnet(_ member: Member) throws(ContainersConfError) -> IPNetwork? {
    guard let text = try string(member) else { return nil }
    do {
      return try IPNetwork.parse(text)
    } catch {
      throw invalid(member.path, error.description)
    }
  }

  /// A port; nil for 0, which Podman takes as "use 53".
  private func port(_ member: Member) throws(ContainersConfError) -> Int? {
    guard let number = member.value.int else { throw mismatch(member, expected: "an integer") }
    // Podman's field is a uint16, so anything outside it fails to decode there as well.
    guard (0...65535).contains(number) else {
      throw invalid(member.path, "expected an integer 0…65535, found \(number)")
    }
    return number == 0 ? nil : number
  }

  /// The pools, checked as Podman's `NetworkConfig.Validate` checks them: an IPv4 base and a size between the
  /// base's prefix length and 32.
  private func pools(_ member: Member) throws(ContainersConfError) -> [SubnetPool] {
    guard let array = member.value.array else { throw mismatch(member, expected: "an array of tables") }
    var pools: [SubnetPool] = []
    for (index, element) in array.enumerated() {
      let pool = try table(Member(path: "\(member.path)[\(index)]", value: element))
      guard let baseMember = pool.member("base") else { throw invalid("\(pool.path).base", "missing") }
      guard let sizeMember = pool.member("size") else { throw invalid("\(pool.path).size", "missing") }
      guard let base = try subnet(baseMember) else { throw invalid(baseMember.path, "empty") }
      guard base.isIPv4 else {
        throw invalid(baseMember.path, "expected an IPv4 network, found \(base): Podman allocates only IPv4 from pools")
      }
      guard let size = sizeMember.value.int else { throw mismatch(sizeMember, expected: "an integer") }
      guard (base.prefixLength...32).contains(size) else {
        throw invalid(sizeMember.path, "expected an integer \(base.prefixLength)…32 for base \(base), found \(size)")
      }
      pools.append(SubnetPool(base: base, size: size))
    }
    return pools
  }

  /// Lays a string array over `key`, honouring Podman's attribute table in it (`["/x", {append = true}]`).
  ///
  /// As in Podman's `attributedstring.Slice`, the attribute may stand anywhere in the array and stays in force for
  /// later files; with it the strings go after the earlier value, without it they replace it.
  private func merge(
    _ key: ContainersConf.ListKey, _ member: Member, into conf: inout ContainersConf
  ) throws(ContainersConfError) {
    guard let array = member.value.array else { throw mismatch(member, expected: "an array of strings") }
    var strings: [String] = []
    for (index, element) in array.enumerated() {
      let item = Member(path: "\(member.path)[\(index)]", value: element)
      if let text = element.string {
        strings.append(text)
        continue
      }
      guard element.table != nil else { throw mismatch(item, expected: "a string or {append = true|false}") }
      let attributes = try table(item)
      for name in attributes.names {
        guard name == "append", let attribute = attributes.member(name) else {
          throw invalid("\(item.path).\(name)", "unsupported attribute; only append is known")
        }
        guard let append = attribute.value.bool else { throw mismatch(attribute, expected: "a boolean") }
        if append { conf.listsAppending.insert(key) } else { conf.listsAppending.remove(key) }
      }
    }
    if conf.listsAppending.contains(key) {
      // Appending to a key no file has set appends to Podman's compiled-in list, which the caller supplies.
      if conf[list: key] == nil { conf.listsExtendingDefaults.insert(key) }
      conf[list: key] = (conf[list: key] ?? []) + strings
    } else {
      conf[list: key] = strings
      conf.listsExtendingDefaults.remove(key)
    }
  }

  // MARK: - Errors

  private func mismatch(_ member: Member, expected: String) -> ContainersConfError {
    invalid(member.path, "expected \(expected), found \(Self.kind(of: member.value))")
  }

  private func invalid(_ key: String, _ message: String) -> ContainersConfError {
    ContainersConfError(file: file, key: key, message: message)
  }

  private static func kind(of value: any TOMLValueConvertible) -> String {
    switch value.type {
    case .table: "a table"
    case .array: "an array"
    case .string: "a string"
    case .int: "an integer (\(value.int.map(String.init) ?? "?"))"
    case .double: "a floating-point number"
    case .bool: "a boolean"
    case .date: "a date"
    case .time: "a time"
    case .dateTime: "a date-time"
    }
  }

  private func line(at offset: Int, in bytes: [UInt8]) -> Int {
    bytes[..<offset].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
  }
}

/// A value found under a key, with the key's dotted path as written in the file.
struct Member {
  let path: String
  let value: any TOMLValueConvertible
}

/// The keys of one TOML table, looked up as Go's BurntSushi/toml matches Podman's struct fields: the exact name
/// first, else a key that equals it ignoring case (so `[Network]` and `Network_Backend` count, as in Podman).
struct Keys {
  let table: TOMLTable
  /// The table's dotted path, empty for the document itself.
  let path: String
  /// The table's keys in the parser's order.
  let names: [String]

  init(_ table: TOMLTable, path: String) {
    self.table = table
    self.path = path
    names = table.keys
  }

  func member(_ name: String) -> Member? {
    let key = names.contains(name) ? name : names.first { $0.lowercased() == name }
    guard let key, let value = table[key] else { return nil }
    return Member(path: path.isEmpty ? key : "\(path).\(key)", value: value)
  }
}
