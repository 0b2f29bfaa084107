/// The Wsss tests train small networks: their initial weights and augmentations come from
/// libtorch's process-wide generator, so two tests running at once would draw from each
/// other's stream and break every exact-reproduction check. The assembly runs serially.
module Hybrid.Wsss.Tests.Serial

open Xunit

[<assembly: CollectionBehavior(DisableTestParallelization = true)>]
do ()
