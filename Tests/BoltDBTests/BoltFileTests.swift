import BoltDB
import TestSupport
import Testing

/// Small files built by hand, with the offsets the damage tests poke at.
enum Fixtures {
  static let pageSize = 4096
  static let leaf = 3 * pageSize
  /// Element 0 of the root leaf: the bucket "net".
  static let element = leaf + 16
  /// The bucket value of "net": header (root 0, sequence 7), then the inline page.
  static let bucketValue = leaf + 32 + 3
  static let inlinePage = bucketValue + 16

  /// Meta pages 0 and 1, the freelist, and a root leaf (page 3) with one bucket "net" holding two keys inline.
  static func tiny() -> [UInt8] {
    var image = BoltImage(pageSize: pageSize)
    let inline = BoltImage.inlineBucket([.value("k1", "v1"), .value("k2", "v2")], sequence: 7)
    _ = image.addLeaf([.bucket("net", inline)])
    return image.bytes()
  }

  /// 512-byte pages and every structure the reader knows: a branch root over two leaves, one of them spilling into an
  /// overflow page, a bucket with a tree of its own, inline buckets inside both, and an empty bucket.
  static func rich() -> [UInt8] {
    var image = BoltImage(pageSize: 512)
    let innerLeaf = image.addLeaf([
      .value("deep", "value"), .bucket("inline", BoltImage.inlineBucket([.value("x", "y")])),
    ])
    let large = [UInt8](repeating: 0xAB, count: 700)
    let first = image.addLeaf([
      .value("alpha", "1"), .bucket("beta", BoltImage.bucketHeader(root: innerLeaf, sequence: 3)),
    ])
    let second = image.addLeaf([.value(BoltImage.bytes("large"), large), .bucket("zeta", BoltImage.inlineBucket([]))])
    image.root = image.addBranch([(key: "alpha", page: first), (key: "large", page: second)])
    return image.bytes()
  }
}

@Suite struct BoltFileTests {
  @Test func readsTheTinyFile() throws {
    let file = try BoltFile(bytes: Fixtures.tiny(), path: "tiny.db")
    #expect(file.pageSize == 4096)
    #expect(file.transactionID == 3)
    #expect(file.rootBucket.count == 1)
    let bucket = try #require(file.bucket(named: "net"))
    #expect(bucket.sequence == 7)
    #expect(bucket.get(BoltImage.bytes("k1")) == BoltImage.bytes("v1"))
    #expect(bucket.get(BoltImage.bytes("k2")) == BoltImage.bytes("v2"))
    #expect(bucket.get(BoltImage.bytes("k3")) == nil)
    #expect(file.bucket(named: BoltImage.bytes("other")) == nil)
    // bbolt's Get returns nil for a key that names a bucket.
    #expect(file.rootBucket.get(BoltImage.bytes("net")) == nil)
    var seen: [String] = []
    bucket.forEach { key, value, isBucket in
      seen.append("\(String(decoding: key, as: UTF8.self))=\(String(decoding: value, as: UTF8.self)) \(isBucket)")
    }
    #expect(seen == ["k1=v1 false", "k2=v2 false"])
  }

  @Test func readsBranchesOverflowAndNestedBuckets() throws {
    let file = try BoltFile(bytes: Fixtures.rich())
    #expect(file.pageSize == 512)
    var top: [String] = []
    file.rootBucket.forEach { key, _, isBucket in
      top.append(String(decoding: key, as: UTF8.self) + (isBucket ? "/" : ""))
    }
    #expect(top == ["alpha", "beta/", "large", "zeta/"])
    #expect(file.rootBucket.get(BoltImage.bytes("large")) == [UInt8](repeating: 0xAB, count: 700))
    let beta = try #require(file.bucket(named: "beta"))
    #expect(beta.sequence == 3)
    #expect(beta.get(BoltImage.bytes("deep")) == BoltImage.bytes("value"))
    #expect(beta.bucket(named: "inline")?.get(BoltImage.bytes("x")) == BoltImage.bytes("y"))
    #expect(file.bucket(named: "zeta")?.count == 0)
  }

  @Test func forEachPassesTheClosuresErrorThrough() throws {
    struct Stop: Error {}
    let bucket = try #require(try BoltFile(bytes: Fixtures.tiny()).bucket(named: "net"))
    var calls = 0
    #expect(throws: Stop.self) {
      try bucket.forEach { (_, _, _) throws(Stop) in
        calls += 1
        throw Stop()
      }
    }
    #expect(calls == 1)
  }

  /// Meta page 1 holds the newer transaction; a torn write of it must leave meta page 0 in charge.
  @Test func picksTheValidMetaWithTheHigherTransaction() throws {
    var image = BoltImage(pageSize: 4096)
    let old = image.addLeaf([.bucket("old", BoltImage.inlineBucket([]))])
    let new = image.addLeaf([.bucket("new", BoltImage.inlineBucket([]))])
    var bytes = image.bytes()
    BoltImage.put(old, width: 8, at: 16 + 16, in: &bytes)
    BoltImage.resealMeta(&bytes, at: 0)
    BoltImage.put(new, width: 8, at: 4096 + 16 + 16, in: &bytes)
    BoltImage.resealMeta(&bytes, at: 4096)
    let current = try BoltFile(bytes: bytes)
    #expect(current.transactionID == 3 && current.bucket(named: "new") != nil)

    var torn = bytes
    torn[4096 + 16 + 48] ^= 0xFF  // meta 1's txid, checksum left stale
    let fallback = try BoltFile(bytes: torn)
    #expect(fallback.transactionID == 2 && fallback.bucket(named: "old") != nil)

    // Meta 0 wins when it is the newer one.
    var swapped = bytes
    BoltImage.put(9, width: 8, at: 16 + 48, in: &swapped)
    BoltImage.resealMeta(&swapped, at: 0)
    #expect(try BoltFile(bytes: swapped).bucket(named: "old") != nil)
  }

  /// With meta page 0 wiped, meta page 1 is found at a page size that is not the OS's.
  @Test func findsMetaOneWithoutMetaZero() throws {
    var bytes = Fixtures.rich()
    bytes.replaceSubrange(0..<512, with: [UInt8](repeating: 0, count: 512))
    let file = try BoltFile(bytes: bytes)
    #expect(file.pageSize == 512 && file.transactionID == 3)
    #expect(file.bucket(named: "beta") != nil)
  }

  @Test func messagesAreOneLineAndNameTheFile() {
    var bytes = Fixtures.tiny()
    bytes[Fixtures.element + 4] = 0xFF
    bytes[Fixtures.element + 5] = 0xFF
    #expect {
      try BoltFile(bytes: bytes, path: "/run/containers/networks/ipam.db")
    } throws: { error in
      let text = "\(error)"
      return text == "/run/containers/networks/ipam.db: page 3: element 0 points outside the page"
    }
    #expect {
      try BoltFile(bytes: [], path: "/x/ipam.db")
    } throws: { error in
      "\(error)" == "/x/ipam.db: not a valid bbolt database: meta page 0: file too short; meta page 1: file too short"
    }
  }
}

/// One way to damage a file, and the error the reader must throw for it.
struct Damage: Sendable, CustomTestStringConvertible {
  var name: String
  var bytes: @Sendable () -> [UInt8]
  var expected: @Sendable (BoltError.Kind) -> Bool

  var testDescription: String { name }

  init(_ name: String, _ expected: BoltError.Kind, _ bytes: @escaping @Sendable () -> [UInt8]) {
    self.name = name
    self.bytes = bytes
    self.expected = { $0 == expected }
  }

  init(
    _ name: String, matching: @escaping @Sendable (BoltError.Kind) -> Bool, _ bytes: @escaping @Sendable () -> [UInt8]
  ) {
    self.name = name
    self.bytes = bytes
    self.expected = matching
  }

  /// The tiny file with `change` applied, and meta pages resealed when `reseal` is set.
  static func tiny(reseal: Bool = false, _ change: @escaping @Sendable (inout [UInt8]) -> Void)
    -> @Sendable () -> [UInt8]
  {
    {
      var bytes = Fixtures.tiny()
      change(&bytes)
      if reseal {
        BoltImage.resealMeta(&bytes, at: 0)
        BoltImage.resealMeta(&bytes, at: Fixtures.pageSize)
      }
      return bytes
    }
  }

  /// Sets a meta field (offset inside the meta) in both meta pages.
  static func bothMetas(_ field: Int, _ value: UInt64, width: Int, reseal: Bool = true) -> @Sendable () -> [UInt8] {
    tiny(reseal: reseal) { bytes in
      for page in [0, Fixtures.pageSize] { BoltImage.put(value, width: width, at: page + 16 + field, in: &bytes) }
    }
  }

  static let all: [Damage] = [
    Damage("empty file", .noValidMeta(first: .missing, second: .missing)) { [] },
    Damage("cut inside meta page 0", .noValidMeta(first: .missing, second: .missing)) {
      Array(Fixtures.tiny().prefix(40))
    },
    Damage("cut after meta page 0", .truncated(size: 100, needed: 16384)) { Array(Fixtures.tiny().prefix(100)) },
    Damage("root leaf missing", .truncated(size: 12288, needed: 16384)) { Array(Fixtures.tiny().prefix(12288)) },
    Damage("bad magic", .noValidMeta(first: .badMagic(0x1234_5678), second: .badMagic(0x1234_5678))) {
      bothMetas(0, 0x1234_5678, width: 4, reseal: false)()
    },
    Damage("unknown version", .noValidMeta(first: .badVersion(3), second: .badVersion(3))) {
      bothMetas(4, 3, width: 4)()
    },
    Damage(
      "bad checksum",
      matching: {
        guard case .noValidMeta(.badChecksum, .badChecksum) = $0 else { return false }
        return true
      }, bothMetas(16, 4, width: 8, reseal: false)),
    Damage("page size not a power of two", .noValidMeta(first: .badPageSize(4000), second: .badPageSize(4000))) {
      bothMetas(8, 4000, width: 4)()
    },
    Damage("high-water mark past the end", .truncated(size: 16384, needed: .max)) {
      bothMetas(40, .max, width: 8)()
    },
    Damage("root page out of range", .pageOutOfRange(page: 99, pageCount: 4)) { bothMetas(16, 99, width: 8)() },
    Damage("root is a meta page", .pageOutOfRange(page: 1, pageCount: 4)) { bothMetas(16, 1, width: 8)() },
    Damage("root is the freelist", .unexpectedPageType(page: 2, flags: 0x10)) { bothMetas(16, 2, width: 8)() },
    Damage("page header names another page", .pageIDMismatch(page: 3, stored: 7)) {
      tiny { BoltImage.put(7, width: 8, at: Fixtures.leaf, in: &$0) }()
    },
    Damage("overflow past the end", .pageOutOfRange(page: 13, pageCount: 4)) {
      tiny { BoltImage.put(10, width: 4, at: Fixtures.leaf + 12, in: &$0) }()
    },
    Damage("element count past page end", .elementsPastPageEnd(page: 3, count: 0xFFFF)) {
      tiny { BoltImage.put(0xFFFF, width: 2, at: Fixtures.leaf + 10, in: &$0) }()
    },
    Damage("key offset past page end", .elementOutOfBounds(page: 3, element: 0)) {
      tiny { BoltImage.put(5000, width: 4, at: Fixtures.element + 4, in: &$0) }()
    },
    Damage("value size past page end", .elementOutOfBounds(page: 3, element: 0)) {
      tiny { BoltImage.put(0xFFFF_FFFF, width: 4, at: Fixtures.element + 12, in: &$0) }()
    },
    Damage("bucket value shorter than a header", .badBucketValue(page: 3, element: 0)) {
      tiny { BoltImage.put(8, width: 4, at: Fixtures.element + 12, in: &$0) }()
    },
    Damage("inline page is not a leaf", .badBucketValue(page: 3, element: 0)) {
      tiny { BoltImage.put(0x01, width: 2, at: Fixtures.inlinePage + 8, in: &$0) }()
    },
    Damage("inline element count past the value", .badBucketValue(page: 3, element: 0)) {
      tiny { BoltImage.put(50, width: 2, at: Fixtures.inlinePage + 10, in: &$0) }()
    },
    Damage("inline key offset past the value", .elementOutOfBounds(page: 3, element: 1)) {
      tiny { BoltImage.put(40, width: 4, at: Fixtures.inlinePage + 16 + 16 + 4, in: &$0) }()
    },
    Damage("nested bucket rooted at its own page", .pageReferencedTwice(page: 3)) {
      tiny { BoltImage.put(3, width: 8, at: Fixtures.bucketValue, in: &$0) }()
    },
    Damage("keys out of order", .keysOutOfOrder(page: 3, element: 1)) {
      var image = BoltImage()
      _ = image.addLeaf(
        [.bucket("b", BoltImage.inlineBucket([])), .bucket("a", BoltImage.inlineBucket([]))], sorted: false)
      return image.bytes()
    },
    Damage("branch that is its own child", .pageReferencedTwice(page: 3)) {
      var image = BoltImage()
      _ = image.addBranch([(key: "a", page: 3)])
      return image.bytes()
    },
    Damage("inline buckets nested past the limit", .tooDeep(limit: 100)) {
      var value = BoltImage.inlineBucket([])
      for _ in 0..<100 { value = BoltImage.inlineBucket([.bucket("n", value)]) }
      var image = BoltImage()
      _ = image.addLeaf([.bucket("n", value)])
      return image.bytes()
    },
  ]
}

@Suite struct DamagedFileTests {
  @Test(arguments: Damage.all)
  func damageThrowsATypedError(_ damage: Damage) {
    #expect {
      try BoltFile(bytes: damage.bytes(), path: "damaged.db")
    } throws: { error in
      guard let error = error as? BoltError else { return false }
      return error.path == "damaged.db" && damage.expected(error.kind) && !"\(error)".contains("\n")
    }
  }

  /// Every byte of a file with every structure, set to a few values, and every length it can be cut to: the reader
  /// returns or throws, it never traps.
  @Test func noSingleByteChangeOrCutCrashes() {
    let original = Fixtures.rich()
    var opened = 0
    for offset in original.indices {
      for value in Set([0x00, 0xFF, original[offset] ^ 0x01, original[offset] &+ 0x10]) {
        var bytes = original
        bytes[offset] = value
        if (try? BoltFile(bytes: bytes)) != nil { opened += 1 }
      }
    }
    #expect(opened > 0)
    for length in 0..<original.count {
      #expect(throws: BoltError.self) { try BoltFile(bytes: Array(original.prefix(length))) }
    }
  }

  @Test func randomDamageNeverCrashes() {
    var generator = SeededGenerator(seed: 0xB017)
    let original = Fixtures.rich()
    for _ in 0..<3000 {
      var bytes = original
      for _ in 0..<Int.random(in: 1...8, using: &generator) {
        let offset = Int.random(in: 0..<bytes.count, using: &generator)
        bytes[offset] = UInt8.random(in: 0...255, using: &generator)
      }
      _ = try? BoltFile(bytes: bytes)
    }
  }
}
