/// Exact tensor equality as PyTorch's torch.equal means it (TorchSharp's Tensor.equal is the
/// element-wise eq and returns a tensor).
module Hybrid.Torch.Tests.Same

open TorchSharp

/// Same shape and every element equal.
let tensors (a: torch.Tensor) (b: torch.Tensor) : bool =
    a.shape = b.shape
    && (use e = a.eq b
        use all = e.all ()
        all.item<bool> ())
