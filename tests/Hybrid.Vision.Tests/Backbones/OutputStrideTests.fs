/// Output stride options: dilation instead of stride keeps every parameter, unsupported values
/// and wrong inputs are clear errors.
module Hybrid.Vision.Tests.OutputStrideTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision.Backbones
open Hybrid.Vision.Tests.TestKit

let private doublesTheResolution (name: string) (side: int64) =
    use _scope = torch.NewDisposeScope()
    let x = torch.randn [| 1L; 3L; side; side |]
    let run (os: OutputStride) =
        use m = BackboneRegistry.Create(name, BackboneOptions(OutputStride = Nullable os))
        m.eval ()
        Expect.equal m.Info.OutputStride (int64 os) "the model's output stride"
        use _g = torch.no_grad ()
        use f = m.forward x
        Expect.equal (f.Final.size 1) m.Info.Channels "final channels"
        f.Final.size 2, (m.state_dict () |> Seq.map (fun kv -> kv.Key, kv.Value.shape) |> Map.ofSeq)
    let s8, p8 = run OutputStride.Eight
    let s16, p16 = run OutputStride.Sixteen
    Expect.equal s8 (side / 8L) "output stride 8"
    Expect.equal s16 (side / 16L) "output stride 16"
    // Dilation instead of stride: the same parameters, so the same checkpoints load.
    Expect.equal (ordinal p8.Keys) (ordinal p16.Keys) "same keys"
    for KeyValue (k, s) in p8 do Expect.equal p16[k] s $"{k}: same shape"

[<Tests>]
let tests =
    testList "Backbones.OutputStride" [
        for name, side in [ "tiny_resnet", 64L; "resnet18", 64L; "resnet50", 64L; "wideresnet38", 32L ] do
            testCase $"Output stride 8 doubles the final resolution of 16 ({name}, {side} px)" (fun () -> doublesTheResolution name side)

        testCase "Unsupported output strides are refused with the supported ones" (fun () ->
            let e = raises<ArgumentException> "vit_s16 at 8" (fun () -> BackboneRegistry.Create("vit_s16", BackboneOptions(OutputStride = Nullable OutputStride.Eight)) |> ignore)
            Expect.stringContains e.Message "supported: 16" "names the supported stride"
            let e = raises<ArgumentException> "wideresnet38 at 32" (fun () -> BackboneRegistry.Create("wideresnet38", BackboneOptions(OutputStride = Nullable OutputStride.ThirtyTwo)) |> ignore)
            Expect.stringContains e.Message "8, 16" "names the supported strides")

        testCase "Unknown names and misplaced options are clear errors" (fun () ->
            let e = raises<ArgumentException> "resnet152" (fun () -> BackboneRegistry.Create "resnet152" |> ignore)
            Expect.stringContains e.Message "resnet50" "lists the registered names"
            let e = raises<ArgumentException> "drop path on a CNN" (fun () -> BackboneRegistry.Create("tiny_resnet", BackboneOptions(DropPathRate = 0.1)) |> ignore)
            Expect.stringContains e.Message "ViTs only" "says where DropPathRate applies")

        testCase "A wrong input is a clear error" (fun () ->
            use m = BackboneRegistry.Create "tiny_resnet"
            use gray = torch.zeros [| 1L; 1L; 32L; 32L |]
            Expect.stringContains (raises<ArgumentException> "gray" (fun () -> m.forward gray |> ignore)).Message "(B, 3, H, W)" "expects three channels"
            use bytes = torch.zeros([| 1L; 3L; 32L; 32L |], ScalarType.Byte)
            Expect.stringContains (raises<ArgumentException> "uint8" (fun () -> m.forward bytes |> ignore)).Message "floating-point" "expects floats")
    ]
