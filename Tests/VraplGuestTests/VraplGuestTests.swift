import Testing
@testable import VraplGuest
