import Testing
@testable import VraplTrace
