// The VraplCollect module. See ../shared/DESIGN.md for its role in the data path.
