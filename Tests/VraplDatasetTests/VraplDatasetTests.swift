import Testing
@testable import VraplDataset
