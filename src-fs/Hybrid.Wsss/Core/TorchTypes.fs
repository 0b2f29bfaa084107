namespace Hybrid.Wsss

open TorchSharp

/// TorchSharp's types by their short names. F# code here opens TorchSharp, not
/// `type TorchSharp.torch`: that would shadow F#'s int, float, max, min, abs, round ... with
/// torch's dtypes and tensor functions.
[<AutoOpen>]
module TorchTypes =
    type Tensor = torch.Tensor
    type Device = torch.Device
    type ScalarType = torch.ScalarType
    type InterpolationMode = torch.InterpolationMode
