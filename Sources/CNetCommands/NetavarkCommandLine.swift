/// netavark 1.4's command line, read by hand as its clap 3 parser reads it.
///
/// Podman runs netavark for every container start and stop, so this path stays free of ArgumentParser's reflection.
/// The rules are clap's as netavark 1.4 configures them, checked against the installed netavark: global options
/// only before the subcommand, each at most once; `--name VALUE`, `--name=VALUE`, `-nVALUE`, `-n=VALUE` and
/// `-n VALUE`; a separate value starting with `-` (other than `-` alone) is an unexpected flag, not a value;
/// `--rootless` takes `true` or `false`, and a repeated or invalid option is reported only when the rest parsed.
/// Usage errors go to stderr in clap's words with status 2, help and
/// `--version` to stdout with status 0, and a missing subcommand prints the help to stderr with status 2.
struct NetavarkInvocation: Equatable, Sendable {
  /// What netavark is asked to do.
  enum Command: Equatable, Sendable {
    case setup(namespacePath: String)
    case teardown(namespacePath: String)
    /// `--network-dns-servers` given once or more; each value may itself be a comma-separated list.
    case update(network: String, dnsServers: [String])
    case version
  }

  var settings: NetavarkDropInSettings
  /// `--file`: where the request is read from instead of stdin.
  var file: String?
  var command: Command

  /// What reading the command line ends with: an invocation to run, or a text to print and a status to exit with.
  enum Parsed: Equatable, Sendable {
    case invocation(NetavarkInvocation)
    case exit(NetavarkExit)
  }

  /// The invocation `arguments` (without the program name) spell, or what to print instead.
  static func parse(_ arguments: [String]) -> Parsed {
    var values: [GlobalOption: String] = [:]
    var invalid: NetavarkExit?
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      guard argument.hasPrefix("-"), argument != "-" else {
        return parseSubcommand(argument, Array(arguments[index...]), values: values, invalid: invalid)
      }
      let match: (option: GlobalOption, value: String?)
      switch GlobalFlag(argument) {
      case .help: return .exit(.output(NetavarkHelp.main))
      case .version: return .exit(.output("netavark \(CNet.version)\n"))
      case .unknown: return .exit(.unexpected(argument, usage: NetavarkHelp.mainUsage))
      case .option(let option, let value): match = (option, value)
      }
      var value = match.value
      if value == nil {
        guard index < arguments.count else { return .exit(.valueMissing(match.option.clapName)) }
        let next = arguments[index]
        // clap reads a following `-x` as a flag of its own, which then fails as unexpected.
        if next.hasPrefix("-"), next != "-" { return .exit(.unexpected(next, usage: NetavarkHelp.mainUsage)) }
        value = next
        index += 1
      }
      // clap reports these only once everything else parsed, and only the first of them.
      if values[match.option] != nil, invalid == nil {
        invalid = .usage(
          "The argument '\(match.option.clapName)' was provided more than once, but cannot be used multiple times",
          usage: NetavarkHelp.mainUsage)
      }
      if match.option == .rootless, value != "true", value != "false", invalid == nil {
        invalid = .usage(
          "Invalid value \"\(value ?? "")\" for '\(match.option.clapName)': provided string was not `true` or `false`",
          usage: nil)
      }
      values[match.option] = value
    }
    // No subcommand: clap prints the whole help, as an error.
    return .exit(NetavarkExit(text: NetavarkHelp.main, toStandardError: true, status: 2))
  }

  private static func parseSubcommand(
    _ name: String, _ rest: [String], values: [GlobalOption: String], invalid: NetavarkExit?
  ) -> Parsed {
    let command: Command
    switch name {
    case "setup", "teardown":
      let usage = "netavark \(name) <NETWORK_NAMESPACE_PATH>"
      let help = name == "setup" ? NetavarkHelp.setup : NetavarkHelp.teardown
      switch positionals(rest, usage: usage, help: help, limit: 1) {
      case .failure(let exit): return .exit(exit)
      case .success(let found):
        guard let path = found.first else {
          return .exit(.missing(["<NETWORK_NAMESPACE_PATH>"], usage: usage))
        }
        guard !path.isEmpty else { return .exit(.emptyValue("<NETWORK_NAMESPACE_PATH>")) }
        command = name == "setup" ? .setup(namespacePath: path) : .teardown(namespacePath: path)
      }
    case "update":
      switch parseUpdate(rest) {
      case .failure(let exit): return .exit(exit)
      case .success(let update): command = update
      }
    case "version":
      switch positionals(rest, usage: "netavark version", help: NetavarkHelp.version, limit: 0) {
      case .failure(let exit): return .exit(exit)
      case .success: command = .version
      }
    case "help":
      guard let topic = rest.first else { return .exit(.output(NetavarkHelp.main)) }
      guard let text = NetavarkHelp.subcommands[topic] else {
        return .exit(.usage("The subcommand '\(topic)' wasn't recognized", usage: NetavarkHelp.mainUsage))
      }
      return .exit(.output(text))
    default:
      return .exit(.unexpected(name, usage: NetavarkHelp.mainUsage))
    }
    if let invalid { return .exit(invalid) }
    let settings = NetavarkDropInSettings(
      configDirectory: values[.config] ?? NetavarkDropInSettings.defaultConfigDirectory,
      rootless: values[.rootless] == "true",
      aardvarkBinary: values[.aardvarkBinary] ?? NetavarkDropInSettings.defaultAardvarkBinary)
    return .invocation(NetavarkInvocation(settings: settings, file: values[.file], command: command))
  }

  /// The positional arguments of a subcommand that has no options but `--help`, at most `limit` of them.
  private static func positionals(
    _ arguments: [String], usage: String, help: String, limit: Int
  ) -> Result<[String], NetavarkExit> {
    var found: [String] = []
    var onlyPositionals = false
    for argument in arguments {
      if !onlyPositionals && argument == "--" {
        onlyPositionals = true
        continue
      }
      if !onlyPositionals && (argument == "-h" || argument == "--help") { return .failure(.output(help)) }
      if !onlyPositionals && argument.hasPrefix("-") && argument != "-" {
        return .failure(.unexpected(argument, usage: usage))
      }
      guard found.count < limit else { return .failure(.unexpected(argument, usage: usage)) }
      found.append(argument)
    }
    return .success(found)
  }

  /// `update --network-dns-servers LIST NETWORK`: the option may come before or after the name, and repeat.
  private static func parseUpdate(_ arguments: [String]) -> Result<Command, NetavarkExit> {
    let usage = "netavark update --network-dns-servers <NETWORK_DNS_SERVERS> <NETWORK_NAME>"
    let optionName = "--network-dns-servers <NETWORK_DNS_SERVERS>"
    var servers: [String] = []
    var network: String?
    var onlyPositionals = false
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if !onlyPositionals && argument.hasPrefix("-") && argument != "-" {
        if argument == "--" {
          onlyPositionals = true
          continue
        }
        if argument == "-h" || argument == "--help" { return .failure(.output(NetavarkHelp.update)) }
        var value: String
        if argument.hasPrefix("--network-dns-servers=") {
          value = String(argument.dropFirst("--network-dns-servers=".count))
        } else if argument == "--network-dns-servers" {
          guard index < arguments.count else { return .failure(.valueMissing(optionName)) }
          value = arguments[index]
          if value.hasPrefix("-"), value != "-" { return .failure(.unexpected(value, usage: usage)) }
          index += 1
        } else {
          return .failure(.unexpected(argument, usage: usage))
        }
        guard !value.isEmpty else { return .failure(.valueMissing(optionName)) }
        servers.append(value)
        continue
      }
      guard network == nil else { return .failure(.unexpected(argument, usage: usage)) }
      guard !argument.isEmpty else { return .failure(.emptyValue("<NETWORK_NAME>")) }
      network = argument
    }
    let missing = (servers.isEmpty ? [optionName] : []) + (network == nil ? ["<NETWORK_NAME>"] : [])
    guard let network, missing.isEmpty else { return .failure(.missing(missing, usage: usage)) }
    // Aardvark-dns keeps a network's servers as one comma-separated list, so a list in one value and repeated
    // options mean the same.
    let list = servers.flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
    return .success(.update(network: network, dnsServers: list))
  }
}

/// The settings netavark's global options carry, with netavark's defaults for the ones not given.
public struct NetavarkDropInSettings: Equatable, Sendable {
  /// netavark's default `--config` (Podman always passes one: /run/containers/networks).
  public static let defaultConfigDirectory = "/tmp"
  /// netavark's default `--aardvark-binary`.
  public static let defaultAardvarkBinary = "/usr/libexec/podman/aardvark-dns"

  /// `--config`: the directory for state that outlives one call (aardvark-dns's configuration, the native
  /// dataplane's records), usually on a tmpfs.
  public var configDirectory: String
  /// `--rootless`: whether the container belongs to a rootless Podman.
  public var rootless: Bool
  /// `--aardvark-binary`: the DNS server to start for networks with DNS enabled.
  public var aardvarkBinary: String

  public init(
    configDirectory: String = defaultConfigDirectory, rootless: Bool = false,
    aardvarkBinary: String = defaultAardvarkBinary
  ) {
    self.configDirectory = configDirectory
    self.rootless = rootless
    self.aardvarkBinary = aardvarkBinary
  }
}

/// What to print and the status to exit with, when reading the command line ends the run.
struct NetavarkExit: Error, Equatable, Sendable {
  var text: String
  var toStandardError: Bool
  var status: Int32

  /// Help or version text: stdout, status 0.
  static func output(_ text: String) -> NetavarkExit {
    NetavarkExit(text: text, toStandardError: false, status: 0)
  }

  /// A usage error as clap words it: stderr, status 2, the usage line when clap shows one.
  static func usage(_ message: String, usage: String?, hint: String? = nil) -> NetavarkExit {
    var text = "error: \(message)\n"
    if let hint { text += "\n\t\(hint)\n" }
    if let usage { text += "\nUSAGE:\n    \(usage)\n" }
    text += "\nFor more information try --help\n"
    return NetavarkExit(text: text, toStandardError: true, status: 2)
  }

  static func unexpected(_ argument: String, usage: String) -> NetavarkExit {
    let hint =
      argument.hasPrefix("-")
      ? "If you tried to supply `\(argument)` as a value rather than a flag, use `-- \(argument)`" : nil
    return .usage(
      "Found argument '\(argument)' which wasn't expected, or isn't valid in this context", usage: usage, hint: hint)
  }

  static func valueMissing(_ name: String) -> NetavarkExit {
    .usage("The argument '\(name)' requires a value but none was supplied", usage: nil)
  }

  static func emptyValue(_ name: String) -> NetavarkExit { valueMissing(name) }

  static func missing(_ names: [String], usage: String) -> NetavarkExit {
    .usage(
      "The following required arguments were not provided:\n" + names.map { "    \($0)" }.joined(separator: "\n"),
      usage: usage)
  }
}

/// netavark's global options.
enum GlobalOption: Hashable, Sendable, CaseIterable {
  case file, config, rootless, aardvarkBinary

  var long: String {
    switch self {
    case .file: "--file"
    case .config: "--config"
    case .rootless: "--rootless"
    case .aardvarkBinary: "--aardvark-binary"
    }
  }

  var short: Character {
    switch self {
    case .file: "f"
    case .config: "c"
    case .rootless: "r"
    case .aardvarkBinary: "a"
    }
  }

  /// The name clap's messages give it.
  var clapName: String {
    switch self {
    case .file: "--file <FILE>"
    case .config: "--config <CONFIG>"
    case .rootless: "--rootless <ROOTLESS>"
    case .aardvarkBinary: "--aardvark-binary <AARDVARK_BINARY>"
    }
  }
}

/// One argument before the subcommand that starts with a dash.
private enum GlobalFlag {
  case help, version, unknown
  case option(GlobalOption, value: String?)

  init(_ argument: String) {
    if argument.hasPrefix("--") {
      let name = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
      let value = name.count < argument.count ? String(argument.dropFirst(name.count + 1)) : nil
      switch name {
      case "--help": self = value == nil ? .help : .unknown
      case "--version": self = value == nil ? .version : .unknown
      default:
        guard let option = GlobalOption.allCases.first(where: { $0.long == name }) else {
          self = .unknown
          return
        }
        self = .option(option, value: value)
      }
      return
    }
    // Short flags: `-h` and `-V` win over whatever follows them (clap prints at once); an option takes the rest of
    // the argument, without a leading `=`, as its value.
    let letters = argument.dropFirst()
    switch letters.first {
    case "h": self = .help
    case "V": self = .version
    case let letter?:
      guard let option = GlobalOption.allCases.first(where: { $0.short == letter }) else {
        self = .unknown
        return
      }
      var rest = letters.dropFirst()
      if rest.first == "=" { rest = rest.dropFirst() }
      self = .option(option, value: letters.count > 1 ? String(rest) : nil)
    case nil: self = .unknown
    }
  }
}

/// The help texts, in clap's layout, naming cnet as what answers.
enum NetavarkHelp {
  static let mainUsage = "netavark [OPTIONS] <SUBCOMMAND>"

  static let main = """
    netavark \(CNet.version)
    cnet standing in for netavark 1.4: Podman's network setup and teardown, done by cnet's dataplane

    USAGE:
        netavark [OPTIONS] <SUBCOMMAND>

    OPTIONS:
        -a, --aardvark-binary <AARDVARK_BINARY>
                The aardvark-dns program to start for networks with DNS

        -c, --config <CONFIG>
                Directory for state kept between calls (aardvark-dns's configuration), usually on a tmpfs

        -f, --file <FILE>
                Read the request from this file instead of stdin

        -h, --help
                Print help information

        -r, --rootless <ROOTLESS>
                Whether the container belongs to a rootless Podman (true or false)

        -V, --version
                Print version information

    SUBCOMMANDS:
        help        Print this help, or a subcommand's
        setup       Attach a network namespace to the networks of the request
        teardown    Detach a network namespace as a setup of the same request attached it
        update      Give a network's DNS server new upstream servers
        version     Print version information as JSON

    """

  static let setup = subcommand(
    "setup", "Attach a network namespace to the networks of the request; print each network's status as JSON",
    usage: "setup <NETWORK_NAMESPACE_PATH>",
    arguments: "    <NETWORK_NAMESPACE_PATH>    Path of the network namespace\n")

  static let teardown = subcommand(
    "teardown", "Detach a network namespace as a setup of the same request attached it",
    usage: "teardown <NETWORK_NAMESPACE_PATH>",
    arguments: "    <NETWORK_NAMESPACE_PATH>    Path of the network namespace\n")

  static let update = subcommand(
    "update", "Give a network's DNS server new upstream servers",
    usage: "update --network-dns-servers <NETWORK_DNS_SERVERS> <NETWORK_NAME>",
    arguments: "    <NETWORK_NAME>    The network whose DNS server changes\n",
    options: "        --network-dns-servers <NETWORK_DNS_SERVERS>    DNS servers for the network (a comma list)\n")

  static let version = subcommand("version", "Print version information as JSON", usage: "version", arguments: nil)

  static let subcommands = ["setup": setup, "teardown": teardown, "update": update, "version": version]

  private static func subcommand(
    _ name: String, _ about: String, usage: String, arguments: String?, options: String = ""
  ) -> String {
    var text = "netavark-\(name) \n\(about)\n\nUSAGE:\n    netavark \(usage)\n\n"
    if let arguments { text += "ARGS:\n\(arguments)\n" }
    text += "OPTIONS:\n    -h, --help    Print help information\n\(options)"
    return text
  }
}
