import Testing
@testable import VraplSim
@testable import VraplCampaign
