import CSQLite

/// A failed SQLite call: the result code stays for the engine, the message is SQLite's own.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
  /// SQLite's extended result code (`SQLITE_BUSY` = 5, `SQLITE_CORRUPT` = 11, …).
  public var code: Int32
  public var message: String
  public var description: String { "\(message) (SQLite code \(code))" }
}

/// One connection to an SQLite file, used from one thread at a time.
///
/// Why SQLite, called through its C API: the IPAM store must never hand out one address twice across processes
/// and must survive a `kill -9` at any instant. SQLite's transactions give both (a `BEGIN IMMEDIATE` takes the
/// write lock before anything is read; its journal rolls back a killed writer on the next open), which a JSON file
/// under a lock would have to re-implement. GRDB would be the comfortable wrapper, but it imports Foundation, and
/// linking Foundation costs every `cnet` command about a millisecond at start (BENCHMARKS.md), so the handful of
/// statements below go straight to the C API.
final class SQLiteDatabase {
  let path: String
  private let handle: OpaquePointer
  /// Prepared statements by their SQL: an engine's process runs the same dozen statements for every container, and
  /// compiling one costs more than running it.
  private var statements: [String: OpaquePointer] = [:]

  /// Opens (creating) the database at `path`; a busy database is retried for up to `busyTimeout`.
  init(path: String, busyTimeout: Duration) throws(SQLiteError) {
    self.path = path
    var handle: OpaquePointer?
    let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
    let status = sqlite3_open_v2(path, &handle, flags, nil)
    guard status == SQLITE_OK, let handle else {
      let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      if let handle { sqlite3_close_v2(handle) }
      throw SQLiteError(code: status, message: message)
    }
    self.handle = handle
    sqlite3_extended_result_codes(handle, 1)
    let milliseconds =
      busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
    sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
  }

  deinit {
    for statement in statements.values { sqlite3_finalize(statement) }
    sqlite3_close_v2(handle)
  }

  private func error(_ status: Int32) -> SQLiteError {
    SQLiteError(code: status, message: String(cString: sqlite3_errmsg(handle)))
  }

  /// Runs one or more statements that take no arguments and return no rows.
  func execute(_ sql: String) throws(SQLiteError) {
    let status = sqlite3_exec(handle, sql, nil, nil, nil)
    guard status == SQLITE_OK else { throw error(status) }
  }

  /// Runs one statement with text (or NULL) arguments and returns every row, each column as text (or nil).
  @discardableResult
  func query(_ sql: String, _ arguments: [String?] = []) throws(SQLiteError) -> [[String?]] {
    let statement = try prepared(sql)
    // Reset even after a failed step, so that the statement ends its read and holds no lock once we return.
    defer {
      sqlite3_reset(statement)
      sqlite3_clear_bindings(statement)
    }
    var status: Int32
    // SQLITE_TRANSIENT: SQLite copies the text, so the Swift string need not outlive the call.
    let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    for (index, argument) in arguments.enumerated() {
      if let argument {
        status = sqlite3_bind_text(statement, Int32(index + 1), argument, -1, transient)
      } else {
        status = sqlite3_bind_null(statement, Int32(index + 1))
      }
      guard status == SQLITE_OK else { throw error(status) }
    }
    var rows: [[String?]] = []
    while true {
      status = sqlite3_step(statement)
      if status == SQLITE_DONE { return rows }
      guard status == SQLITE_ROW else { throw error(status) }
      let columns = sqlite3_column_count(statement)
      var row: [String?] = []
      row.reserveCapacity(Int(columns))
      for column in 0..<columns {
        if let text = sqlite3_column_text(statement, column) {
          row.append(String(cString: text))
        } else {
          row.append(nil)
        }
      }
      rows.append(row)
    }
  }

  private func prepared(_ sql: String) throws(SQLiteError) -> OpaquePointer {
    if let statement = statements[sql] { return statement }
    var statement: OpaquePointer?
    let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
    guard status == SQLITE_OK, let statement else { throw error(status) }
    statements[sql] = statement
    return statement
  }

  /// Runs `body` in a transaction that holds the write lock from its first statement (`BEGIN IMMEDIATE`), so that
  /// what `body` reads cannot change before it writes; commits when `body` returns, rolls back when it throws.
  func writeTransaction<T>(_ body: () throws -> T) throws -> T {
    try query("BEGIN IMMEDIATE")
    do {
      let result = try body()
      try query("COMMIT")
      return result
    } catch {
      _ = try? query("ROLLBACK")
      throw error
    }
  }
}
