import Testing
@testable import VraplNN
