import Foundation

/// A directory under /tmp that is removed, with everything in it, when the value is closed.
public struct TemporaryDirectory: Sendable {
  public let path: String

  public init(prefix: String = "cnet-test") throws {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
      throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
    path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// A path inside the directory.
  public func appending(_ name: String) -> String { "\(path)/\(name)" }

  public func remove() {
    try? FileManager.default.removeItem(atPath: path)
  }
}

/// Creates a temporary directory, runs `body`, and removes the directory even when `body` throws.
public func withTemporaryDirectory<T>(
  prefix: String = "cnet-test", _ body: (TemporaryDirectory) async throws -> T
) async throws -> T {
  let directory = try TemporaryDirectory(prefix: prefix)
  defer { directory.remove() }
  return try await body(directory)
}
