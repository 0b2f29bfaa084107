/// Test bodies on one libtorch thread.
module Hybrid.Wsss.Tests.SingleThread

open TorchSharp

/// Runs a test body on one libtorch thread: the tensors are tiny, and on a loaded 2-core
/// machine a second intra-op thread turns milliseconds into seconds of waiting.
let singleThreaded (body: unit -> 'a) : 'a =
    let before = torch.get_num_threads ()
    torch.set_num_threads 1
    try body () finally torch.set_num_threads before
