#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The names in a directory: the one way the stores that keep a file per item (networks, state files, temporary
/// files) list theirs.
public enum DirectoryEntries {
  /// The names in the directory at `path`, without `.` and `..`, in the order the file system gives them; nil when
  /// it cannot be opened (`errno` says why).
  public static func names(at path: String) -> [String]? {
    guard let directory = opendir(path) else { return nil }
    defer { closedir(directory) }
    return names(of: directory)
  }

  /// The same for an open directory descriptor, which stays open and the caller's.
  public static func names(ofDescriptor fd: Int32) -> [String]? {
    // fdopendir takes ownership of its descriptor, so it gets a duplicate.
    let duplicate = dup(fd)
    guard duplicate >= 0 else { return nil }
    guard let directory = fdopendir(duplicate) else {
      close(duplicate)
      return nil
    }
    defer { closedir(directory) }
    return names(of: directory)
  }

  private static func names(of directory: OpaquePointer) -> [String] {
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }
}
