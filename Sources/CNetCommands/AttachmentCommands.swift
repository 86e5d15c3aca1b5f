import ArgumentParser
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import NetworkNamespace

/// The arguments setup and teardown share.
struct AttachmentOptions: ParsableArguments {
  @Option(name: CommandFlag.containerID.names, help: CommandFlag.containerID.help) var containerID: String
  @Option(name: CommandFlag.containerName.names, help: CommandFlag.containerName.help) var containerName: String?
  @Option(name: CommandFlag.network.names, help: CommandFlag.network.help) var network: [String] = []
  @Option(name: CommandFlag.publish.names, help: CommandFlag.publish.help) var publish: [String] = []

  /// The parsed values.
  var settings: AttachmentSettings {
    AttachmentSettings(containerID: containerID, containerName: containerName, network: network, publish: publish)
  }
}

/// What setup, teardown and run attach, as plain values: the container and the `--network`/`--publish` texts.
struct AttachmentSettings: Equatable, Sendable {
  var containerID: String
  var containerName: String?
  var network: [String] = []
  var publish: [String] = []
  /// Teardown only: the caller deletes the namespace next (``NetworkOptions/namespaceWillBeRemoved``).
  var namespaceWillBeRemoved = false

  /// Network options with interface names assigned eth0, eth1, … in the order the networks were given.
  func networkOptions(defaultNetwork: String?) throws -> NetworkOptions {
    var options = NetworkOptions(containerID: containerID, containerName: containerName ?? "")
    let specs = network.isEmpty ? defaultNetwork.map { [$0] } ?? [] : network
    for text in specs {
      let spec = try NetworkSpec.parse(text)
      guard options[network: spec.name] == nil else {
        throw NetworkError(.invalidArgument, "network \(spec.name) is given twice")
      }
      options.networks.append(NamedPerNetworkOptions(spec.name, spec.options))
    }
    guard !options.networks.isEmpty else { throw NetworkError(.invalidArgument, "must specify at least one network") }
    SetupValidation.assignDefaultInterfaceNames(&options.networks)
    options.portMappings = try publish.map { try PublishSpec.parse($0) }
    options.namespaceWillBeRemoved = namespaceWillBeRemoved
    return options
  }
}

/// What `setup` and `teardown` share besides their options: how they run.
protocol AttachmentCommand: AsyncParsableCommand {
  static var kind: AttachmentInvocation.Kind { get }
  var global: GlobalOptions { get }
  var attachment: AttachmentOptions { get }
  var namespacePath: String { get }
}

extension AttachmentCommand {
  /// What the command line says, as the fast parser would read it.
  var invocation: AttachmentInvocation {
    AttachmentInvocation(
      kind: Self.kind, global: global.settings, attachment: attachment.settings, namespacePath: namespacePath)
  }

  func run() async throws {
    try await invocation.run()
  }
}

struct Setup: AttachmentCommand {
  static let kind = AttachmentInvocation.Kind.setup
  static let configuration = CommandConfiguration(
    commandName: "setup", abstract: "Attach a network namespace to networks; prints {network: status} as JSON.")

  @OptionGroup var global: GlobalOptions
  @OptionGroup var attachment: AttachmentOptions
  @Argument(help: "Path of the network namespace, e.g. /run/netns/c1.") var namespacePath: String
}

struct Teardown: AttachmentCommand {
  static let kind = AttachmentInvocation.Kind.teardown
  static let configuration = CommandConfiguration(
    commandName: "teardown", abstract: "Detach a network namespace from networks.")

  @OptionGroup var global: GlobalOptions
  @OptionGroup var attachment: AttachmentOptions
  @Flag(
    name: .customLong(AttachmentInvocation.namespaceWillBeRemovedFlag),
    help: "The namespace is deleted right after: the native backend then only takes the host link down.")
  var namespaceWillBeRemoved = false
  @Argument(help: "Path of the network namespace, e.g. /run/netns/c1.") var namespacePath: String

  var invocation: AttachmentInvocation {
    var settings = attachment.settings
    settings.namespaceWillBeRemoved = namespaceWillBeRemoved
    return AttachmentInvocation(
      kind: Self.kind, global: global.settings, attachment: settings, namespacePath: namespacePath)
  }
}

/// One `cnet setup` or `cnet teardown`, and the parser that reads the common spellings of them without
/// ArgumentParser.
///
/// A container engine runs these two at every container start and stop. ArgumentParser finds a command's options by
/// reflection, which costs about 2 ms of a 4 ms start, most of cnet's overhead over the raw plugin chain
/// (BENCHMARKS.md). ``parse(_:)`` reads plain spellings only, with the flag table both parsers take their spellings
/// from (``CommandFlag``). Anything else returns nil and goes to ArgumentParser, which stays the judge of both
/// commands, their help and their errors: help and version flags, a flag missing
/// from ``Slot``, a value that is missing, empty or starts with a dash, a single-valued option given twice, `--`,
/// a wrong number of paths, or settings that fail validation. `AttachmentInvocationTests` holds the table to
/// ArgumentParser's definition (from `--experimental-dump-help`) and both parsers to the same results.
struct AttachmentInvocation: Equatable, Sendable {
  enum Kind: String, Sendable { case setup, teardown }

  var kind: Kind
  var global: GlobalSettings
  var attachment: AttachmentSettings
  var namespacePath: String

  /// Where a flag's value goes: the flag table (``CommandFlag``).
  typealias Slot = CommandFlag

  /// Teardown's one flag without a value, read here too: the engine that deletes the namespace gives it every time.
  static let namespaceWillBeRemovedFlag = "netns-will-be-removed"

  /// The invocation `arguments` (without the program name) spell, or nil when ArgumentParser must read them.
  static func parse(_ arguments: [String]) -> AttachmentInvocation? {
    var kind: Kind?
    var global = GlobalSettings()
    var containerID: String?
    var containerName: String?
    var network: [String] = []
    var publish: [String] = []
    var paths: [String] = []
    var namespaceWillBeRemoved = false
    var seen: UInt32 = 0  // one bit per single-valued slot given
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      guard argument.hasPrefix("-") else {
        if kind == nil {
          guard let named = Kind(rawValue: argument) else { return nil }
          kind = named
        } else {
          paths.append(argument)
        }
        continue
      }
      if argument == "--" + namespaceWillBeRemovedFlag && kind == .teardown && !namespaceWillBeRemoved {
        namespaceWillBeRemoved = true
        continue
      }
      var name = argument
      var value: String?
      if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
        name = String(argument[..<equals])
        value = String(argument[argument.index(after: equals)...])
      }
      guard let slot = Slot(spelling: name), slot.isGlobal || kind != nil else { return nil }
      if value == nil, index < arguments.count {
        value = arguments[index]
        index += 1
      }
      guard let value, !value.isEmpty, !value.hasPrefix("-") else { return nil }
      if !slot.isRepeating {
        guard seen & (1 << slot.rawValue) == 0 else { return nil }
        seen |= 1 << slot.rawValue
      }
      switch slot {
      case .backend: global.backend = value
      case .configDir: global.configDir = value
      case .pluginDir: global.pluginDirs.append(value)
      case .cacheDir: global.cacheDir = value
      case .runDir: global.runDir = value
      case .pluginTimeout: global.pluginTimeout = value
      case .logLevel: global.logLevel = value
      case .containerID: containerID = value
      case .containerName: containerName = value
      case .network: network.append(value)
      case .publish: publish.append(value)
      }
    }
    guard let kind, let containerID, paths.count == 1, global.problem == nil else { return nil }
    return AttachmentInvocation(
      kind: kind, global: global,
      attachment: AttachmentSettings(
        containerID: containerID, containerName: containerName, network: network, publish: publish,
        namespaceWillBeRemoved: namespaceWillBeRemoved),
      namespacePath: paths[0])
  }

  /// Runs the command; setup prints `{network: status}` as JSON.
  func run() async throws {
    let options = try attachment.networkOptions(defaultNetwork: nil)
    let backend = try global.makeBackend()
    switch kind {
    case .setup:
      let statuses = try await backend.setup(namespacePath: namespacePath, options: options)
      print(try OutputFormatting.json(SortedDictionary(statuses), indent: "  "))
    case .teardown:
      try await backend.teardown(namespacePath: namespacePath, options: options)
    }
  }
}
