import ArgumentParser
import Foundation
import TestSupport
import Testing

@testable import CNetCommands

/// `cnet setup` and `cnet teardown` read without ArgumentParser (``AttachmentInvocation``) must mean exactly what
/// ArgumentParser reads, and must leave everything else to it.
@Suite struct AttachmentInvocationTests {
  /// What ArgumentParser makes of `arguments`, as an invocation.
  static func viaArgumentParser(_ arguments: [String]) throws -> AttachmentInvocation {
    switch try CNet.parseAsRoot(movingGlobalOptions(arguments)) {
    case let command as Setup:
      return command.invocation
    case let command as Teardown:
      return command.invocation
    case let other:
      Issue.record("ArgumentParser read \(arguments) as \(type(of: other))")
      throw ExitCode.failure
    }
  }

  static let understood: [[String]] = [
    ["setup", "--container-id", "c1", "--network", "n1", "/run/netns/x"],
    ["teardown", "--container-id", "c1", "/run/netns/x"],
    [
      "--config-dir", "/tmp/a", "setup", "--container-id=c1", "--network=n1:ip=10.0.0.2,mac=02:00:00:00:00:01",
      "-p", "8080:80/tcp", "--publish", "53:53/udp", "/ns",
    ],
    [
      "setup", "/ns", "--container-id", "c", "--container-name", "web", "--plugin-dir", "/a", "--plugin-dir=/b",
      "--plugin-timeout", "2.5", "--log-level", "debug", "--backend", "cni", "--cache-dir", "/c", "--run-dir", "/r",
    ],
    [
      "--log-level=error", "--cache-dir", "/c", "teardown", "--network", "a", "--network", "b", "--container-id", "c",
      "/ns",
    ],
    ["setup", "--container-id", "c", "--backend", "netavark", "--network", "x:alias=a,alias=b", "/ns"],
    ["teardown", "--container-id", "c", "-p", "1-2:3-4", "/ns", "--network", "web:interface_name=eth9"],
    ["teardown", "--netns-will-be-removed", "--container-id", "c", "--backend", "native", "/ns"],
  ]

  @Test(arguments: understood)
  func readsAsArgumentParserDoes(_ arguments: [String]) throws {
    let fast = try #require(AttachmentInvocation.parse(arguments))
    #expect(fast == (try Self.viaArgumentParser(arguments)))
  }

  /// Everything here goes to ArgumentParser, whether it accepts it (with its own rules) or explains what is wrong.
  static let leftToArgumentParser: [[String]] = [
    [], ["ls"], ["create", "x"], ["help", "setup"], ["--version"], ["setup", "--version"],
    ["setup", "--help"], ["teardown", "-h"], ["setup", "--container-id", "c", "--help", "/ns"],
    ["setup", "--container-id", "c"],
    ["setup", "--container-id", "c", "/a", "/b"],
    ["setup", "--network", "n", "/ns"],
    ["setup", "--container-id", "c", "--container-id", "d", "/ns"],
    ["setup", "--container-id", "--network", "/ns"],
    ["setup", "--container-id=", "/ns"],
    ["setup", "--container-id", ""],
    ["setup", "--container-id", "c", "--", "/ns"],
    ["setup", "--container-id", "c", "--bogus", "x", "/ns"],
    ["setup", "--container-id", "c", "-p8080:80", "/ns"],
    ["setup", "--container-id", "c", "/ns", "--network"],
    ["--container-id", "c", "setup", "/ns"],
    ["setup", "--container-id", "c", "--plugin-timeout", "soon", "/ns"],
    ["setup", "--container-id", "c", "--plugin-timeout", "0", "/ns"],
    ["setup", "--container-id", "c", "--plugin-timeout", "inf", "/ns"],
    ["setup", "--container-id", "c", "--plugin-timeout", "nan", "/ns"],
    ["setup", "--container-id", "c", "--log-level", "loud", "/ns"],
    ["setup", "--container-id", "c", "--backend", "docker", "/ns"],
    ["setup", "--container-id", "c", "--network", "-n", "/ns"],
    ["run", "--container-id", "c", "--", "true"],
  ]

  @Test(arguments: leftToArgumentParser)
  func leavesTheRestToArgumentParser(_ arguments: [String]) {
    #expect(AttachmentInvocation.parse(arguments) == nil)
  }

  /// The environment gives the defaults to both parsers alike.
  @Test func environmentDefaultsAreShared() throws {
    let arguments = ["setup", "--container-id", "c", "--network", "n", "/ns"]
    let fast = try #require(AttachmentInvocation.parse(arguments))
    #expect(fast.global == GlobalSettings())
    #expect(fast == (try Self.viaArgumentParser(arguments)))
  }

  /// The table of flags is ArgumentParser's definition of both commands, spelling for spelling, so that a flag added
  /// to one cannot be missing from the other.
  @Test(arguments: ["setup", "teardown"])
  func flagsAreArgumentParsersFlags(_ command: String) throws {
    let binary = try CNetBinary.require()
    let result = try runCommand([binary, "--experimental-dump-help"])
    let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let tool = try #require(root["command"] as? [String: Any])
    let subcommands = try #require(tool["subcommands"] as? [[String: Any]])
    let definition = try #require(subcommands.first { $0["commandName"] as? String == command })
    let arguments = try #require(definition["arguments"] as? [[String: Any]])

    var options: [String: Bool] = [:]
    var flags: Set<String> = []
    var positionals = 0
    for argument in arguments {
      let names = (argument["names"] as? [[String: String]] ?? []).map { name in
        (name["kind"] == "short" ? "-" : "--") + (name["name"] ?? "")
      }
      switch argument["kind"] as? String {
      case "option": for name in names { options[name] = argument["isRepeating"] as? Bool ?? false }
      case "flag": flags.formUnion(names)
      case "positional": positionals += 1
      default: Issue.record("unexpected argument kind in \(argument)")
      }
    }
    var table: [String: Bool] = [:]
    for slot in AttachmentInvocation.Slot.allCases {
      for spelling in slot.spellings {
        #expect(AttachmentInvocation.Slot(spelling: spelling) == slot)
        table[spelling] = slot.isRepeating
      }
    }
    #expect(options == table)
    // Flags without a value are help and version, which are ArgumentParser's to answer, and teardown's one flag,
    // which both read.
    let own: Set<String> = command == "teardown" ? ["--" + AttachmentInvocation.namespaceWillBeRemovedFlag] : []
    #expect(flags == Set(["--version", "-h", "--help"]).union(own))
    #expect(positionals == 1)
    let globals = AttachmentInvocation.Slot.allCases.filter(\.isGlobal).flatMap(\.spellings)
    let moved = movingGlobalOptions(globals.flatMap { [$0, "v"] } + [command])
    #expect(moved.first == command, "every global option may come before the subcommand")
  }
}
