import Testing
@testable import VraplSources
