import VraplCore

/// The dataset pipeline's seeded generator (splits, epoch orders, subsamples): VraplCore's
/// `SplitMix64`, under the name the pipeline has always used.
public typealias SeededGenerator = SplitMix64
