import Testing
@testable import VraplEval
