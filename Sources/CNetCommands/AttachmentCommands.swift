import ArgumentParser
import CNetShim
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import NetworkNamespace

/// The arguments setup and teardown share.
struct AttachmentOptions: ParsableArguments {
  @Option(name: .customLong("container-id"), help: "The container's ID.") var containerID: String
  @Option(name: .customLong("container-name"), help: "The container's name (its DNS name).") var containerName: String?
  @Option(help: "NAME[:ip=IP,mac=MAC,alias=NAME,interface_name=IF]; repeat for several.") var network: [String] = []
  @Option(name: [.short, .customLong("publish")], help: "[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL].")
  var publish: [String] = []

  /// Network options with interface names assigned eth0, eth1, … in the order the networks were given.
  func networkOptions(defaultNetwork: String?) throws -> NetworkOptions {
    var options = NetworkOptions(containerID: containerID, containerName: containerName ?? "")
    var order: [String] = []
    let specs = network.isEmpty ? defaultNetwork.map { [$0] } ?? [] : network
    for text in specs {
      let spec = try NetworkSpec.parse(text)
      guard options.networks[spec.name] == nil else {
        throw NetworkError(.invalidArgument, "network \(spec.name) is given twice")
      }
      options.networks[spec.name] = spec.options
      order.append(spec.name)
    }
    guard !options.networks.isEmpty else { throw NetworkError(.invalidArgument, "must specify at least one network") }
    SetupValidation.assignDefaultInterfaceNames(&options.networks, order: order)
    options.portMappings = try publish.map { try PublishSpec.parse($0) }
    return options
  }
}

struct Setup: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "setup", abstract: "Attach a network namespace to networks; prints {network: status} as JSON.")

  @OptionGroup var global: GlobalOptions
  @OptionGroup var attachment: AttachmentOptions
  @Argument(help: "Path of the network namespace, e.g. /run/netns/c1.") var namespacePath: String

  func run() async throws {
    let options = try attachment.networkOptions(defaultNetwork: nil)
    let statuses = try await global.makeBackend().setup(namespacePath: namespacePath, options: options)
    print(try OutputFormatting.json(SortedDictionary(statuses), indent: "  "))
  }
}

struct Teardown: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "teardown", abstract: "Detach a network namespace from networks.")

  @OptionGroup var global: GlobalOptions
  @OptionGroup var attachment: AttachmentOptions
  @Argument(help: "Path of the network namespace, e.g. /run/netns/c1.") var namespacePath: String

  func run() async throws {
    let options = try attachment.networkOptions(defaultNetwork: nil)
    try await global.makeBackend().teardown(namespacePath: namespacePath, options: options)
  }
}
