import Testing
@testable import VraplModel
