/// Finding networks by name or ID, the same way for every backend.
public enum NetworkLookup {
  /// Exact name first, then full ID, then a unique ID prefix; an ambiguous prefix is an error.
  public static func find(_ nameOrID: String, in networks: some Collection<Network>) throws(NetworkError) -> Network {
    if let byName = networks.first(where: { $0.name == nameOrID }) { return byName }
    if let byID = networks.first(where: { $0.id == nameOrID }) { return byID }
    if !nameOrID.isEmpty {
      let matches = networks.filter { $0.id.hasPrefix(nameOrID) }
      if matches.count == 1 { return matches[0] }
      if matches.count > 1 {
        throw NetworkError(.ambiguous, "more than one result for network ID \(nameOrID)")
      }
    }
    throw NetworkError.networkNotFound(NameValidation.displayed(nameOrID))
  }
}

/// Picking free names such as `cni-podman3`.
public enum NameAllocator {
  /// `prefix` + the lowest N ≥ `start` such that the name is not in `used`.
  public static func firstFree(prefix: String, used: Set<String>, start: Int = 1) -> String {
    var numbers = Set<Int>()
    for name in used where name.hasPrefix(prefix) {
      if let n = Int(name.dropFirst(prefix.count)), n >= start, String(n) == name.dropFirst(prefix.count) {
        numbers.insert(n)
      }
    }
    var candidate = start
    while numbers.contains(candidate) { candidate += 1 }
    return prefix + String(candidate)
  }
}
