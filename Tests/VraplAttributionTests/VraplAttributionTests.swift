import Testing
@testable import VraplAttribution
