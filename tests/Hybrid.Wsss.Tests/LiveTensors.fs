/// The process-wide live-tensor count as a leak test reads it.
module Hybrid.Wsss.Tests.LiveTensors

open System
open TorchSharp

/// The count once every unreachable tensor has been finalized: a tensor that an earlier test
/// left to the garbage collector is released here, not inside the region a leak test counts.
let settledCount () : int64 =
    GC.Collect()
    GC.WaitForPendingFinalizers()
    GC.Collect()
    torch.Tensor.TotalCount
