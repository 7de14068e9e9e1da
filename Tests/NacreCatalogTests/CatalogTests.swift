import Testing
@testable import NacreCatalog
@Test func t() {}
