import CNIRuntime
import OrderedJSON
import Testing

@Suite struct JSONValueTests {
  @Test(arguments: [
    #"{"b":1,"a":[true,false,null],"c":{"z":"x","y":1.50e+3}}"#,
    #"[]"#,
    #"{}"#,
    #""\u00e9\"\\\n""#,
    #"-0.5"#,
    #"{"unknown":{"deep":[[[{"k":12345678901234567890}]]]}}"#,
  ])
  func roundTripsExactly(text: String) throws {
    let value = try JSONValue.parse(text)
    let again = try JSONValue.parse(value.serialized())
    #expect(again == value)
    if !text.contains("\\u") { #expect(value.jsonString == text) }
  }

  @Test func keepsKeyOrderAndNumberText() throws {
    let value = try JSONValue.parse(#" { "z" : 1.0 , "a" : 2 , "m" : 1e3 } "#)
    #expect(value.objectValue?.keys == ["z", "a", "m"])
    #expect(value.jsonString == #"{"z":1.0,"a":2,"m":1e3}"#)
  }

  @Test func decodesEscapesAndSurrogatePairs() throws {
    #expect(try JSONValue.parse(#""a\u00e9\ud83d\ude00\t/""#) == .string("aé😀\t/"))
  }

  @Test(arguments: ["", "{", "[1,]", #"{"a" 1}"#, "01", "1.", "tru", #""\x""#, "{} {}", #"{"a":1,}"#])
  func rejectsInvalidText(text: String) {
    #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
  }

  @Test func rejectsHostileNesting() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
  }
}

@Suite struct ConfigListTests {
  static let podmanList = #"""
    {
       "cniVersion": "0.4.0",
       "name": "pb-auto",
       "plugins": [
          {
             "type": "bridge",
             "bridge": "cni-podman1",
             "isGateway": true,
             "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.89.0.0/24", "gateway": "10.89.0.1" }]] },
             "capabilities": { "ips": true },
             "someFutureKey": { "n": 1.50, "list": [1, "two"] }
          },
          { "type": "portmap", "capabilities": { "portMappings": true, "unused": false } },
          { "type": "firewall", "backend": "" },
          { "type": "dnsname", "domainName": "dns.podman", "capabilities": { "aliases": true } }
       ]
    }
    """#

  @Test func parsesAPodmanList() throws {
    let list = try NetworkConfigList(json: Self.podmanList)
    #expect(list.name == "pb-auto")
    #expect(list.cniVersion == "0.4.0")
    #expect(list.plugins.map(\.type) == ["bridge", "portmap", "firewall", "dnsname"])
    #expect(list.plugins[0].capabilities == ["ips"])
    #expect(list.plugins[1].capabilities == ["portMappings"])
    #expect(list.plugins[0].ipamType == "host-local")
    #expect(!list.disableCheck && !list.disableGC && list.cniVersions.isEmpty)
  }

  @Test func readsVersionListAndFlags() throws {
    let list = try NetworkConfigList(
      json: #"""
        {"cniVersion":"1.0.0","cniVersions":["0.4.0","1.0.0","1.1.0","9.9.9"],"name":"n","disableCheck":true,
         "disableGC":"true","plugins":[{"type":"bridge"}]}
        """#)
    #expect(list.cniVersions == ["0.4.0", "1.0.0", "1.1.0", "9.9.9"])
    #expect(list.preferredVersion == "1.1.0")
    #expect(list.disableCheck && list.disableGC)
  }

  @Test(arguments: [
    (#"{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}"#, "no name"),
    (#"{"name":"n","cniVersion":"1.0.0"}"#, "no 'plugins' key"),
    (#"{"name":"n","cniVersion":"1.0.0","plugins":[]}"#, "no plugins in list"),
    (#"{"name":"n","cniVersion":"1.0.0","plugins":[{"bridge":"x"}]}"#, "plugin 0: missing 'type'"),
    (#"{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"a"},{"type":""}]}"#, "plugin 1: missing 'type'"),
    (#"{"name":"n","cniVersion":1,"plugins":[{"type":"a"}]}"#, "invalid cniVersion type number"),
    (#"[1]"#, "expected an object, found array"),
  ])
  func specificErrors(text: String, details: String) {
    #expect {
      try NetworkConfigList(json: text)
    } throws: { error in
      guard let error = error as? CNIError else { return false }
      return error.kind == .invalidConfiguration && error.details == details
        && error.description == "error parsing configuration list: \(details)"
    }
  }

  @Test func stdinCarriesUnknownKeysUnchangedAndOnlyDeclaredCapabilities() throws {
    let list = try NetworkConfigList(json: Self.podmanList)
    let capabilityArgs: [String: JSONValue] = [
      "portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]],
      "ips": ["10.89.0.5/24"],
      "aliases": ["pb-auto": ["web"]],
      "mac": "02:00:00:00:00:05",
    ]
    let prev: JSONValue = ["cniVersion": "0.4.0", "dns": [:]]
    let bridge = list.plugins[0].stdin(
      networkName: list.name, cniVersion: "0.4.0", prevResult: nil, capabilityArgs: capabilityArgs)
    #expect(
      JSONValue.object(bridge).jsonString
        == #"{"cniVersion":"0.4.0","name":"pb-auto","type":"bridge","bridge":"cni-podman1","isGateway":true,"#
        + #""ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.0.0/24","gateway":"10.89.0.1"}]]},"#
        + #""capabilities":{"ips":true},"someFutureKey":{"n":1.50,"list":[1,"two"]},"#
        + #""runtimeConfig":{"ips":["10.89.0.5/24"]}}"#)
    let portmap = list.plugins[1].stdin(
      networkName: list.name, cniVersion: "0.4.0", prevResult: prev, capabilityArgs: capabilityArgs)
    #expect(portmap["prevResult"] == prev)
    #expect(
      portmap["runtimeConfig"] == ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]])
    let firewall = list.plugins[2].stdin(
      networkName: list.name, cniVersion: "0.4.0", prevResult: prev, capabilityArgs: capabilityArgs)
    #expect(firewall["runtimeConfig"] == nil)
    #expect(firewall["backend"] == "")
  }

  @Test func cniArgsAreJoinedInOrder() throws {
    let runtime = RuntimeConf(
      containerID: "c", netns: "/n", ifName: "eth0",
      args: [("IgnoreUnknown", "1"), ("K8S_POD_NAME", "web"), ("IP", "10.89.0.5"), ("EMPTY", "")])
    #expect(try runtime.cniArgsString() == "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.89.0.5;EMPTY=")
    #expect(try RuntimeConf(containerID: "c", netns: "", ifName: "").cniArgsString() == "")
  }

  @Test(arguments: [("A=B", "1"), ("A;B", "1"), ("A", "1;B=2"), ("A", "x=y"), ("", "1")])
  func cniArgsWithSeparatorsAreRejected(key: String, value: String) {
    let runtime = RuntimeConf(containerID: "c", netns: "", ifName: "", args: [("IgnoreUnknown", "1"), (key, value)])
    #expect {
      try runtime.cniArgsString()
    } throws: { error in
      (error as? CNIError)?.kind == .invalidArguments
    }
  }
}
