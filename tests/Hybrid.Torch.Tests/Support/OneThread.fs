/// Test bodies on one libtorch thread.
module Hybrid.Torch.Tests.OneThread

open Expecto
open TorchSharp

/// Runs a body on one intra-op thread: the tensors here are tiny, so more threads only add
/// OpenMP barriers, and on a busy 2-core machine each barrier waits for a time slice (measured
/// under load: the memory test's step took 55 ms with 2 threads, 1.9 ms with 1). One thread
/// also makes the float64 comparisons with PyTorch's recorded values independent of the split.
let singleThreaded (body: unit -> 'a) : 'a =
    let before = torch.get_num_threads ()
    torch.set_num_threads 1
    try body () finally torch.set_num_threads before

/// A test case whose body runs on one libtorch thread.
let torchTest (name: string) (body: unit -> unit) : Test = testCase name (fun () -> singleThreaded body)
