import Testing
@testable import VraplCollect
