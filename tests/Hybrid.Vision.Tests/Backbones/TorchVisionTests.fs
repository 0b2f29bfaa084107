/// Our ResNet-18 against TorchVision's own model (the TorchVision package for TorchSharp):
/// the same state-dict keys with the same shapes, apart from the ImageNet classifier fc, which
/// our backbone lacks and reports as ignorable; and a TorchVision state dict loads clean.
module Hybrid.Vision.Tests.TorchVisionTests

open Expecto
open TorchSharp
open Hybrid.Vision.Backbones
open Hybrid.Vision.Tests.TestKit

let private shapes (m: torch.nn.Module) = m.state_dict () |> Seq.map (fun kv -> kv.Key, kv.Value.shape) |> Map.ofSeq

[<Tests>]
let tests =
    testList "Backbones.TorchVision" [
        testCase "ResNet-18 state-dict keys and shapes equal torchvision.models.resnet18's minus fc" (fun () ->
            use tv = torchvision.models.resnet18 ()
            let theirs = shapes tv
            Expect.equal (theirs |> Map.filter (fun k _ -> k.StartsWith "fc.") |> Map.keys |> ordinal) [ "fc.bias"; "fc.weight" ] "TorchVision's classifier"
            Expect.equal theirs["fc.weight"] [| 1000L; 512L |] "TorchVision's ImageNet classifier"
            for os in [ OutputStride.ThirtyTwo; OutputStride.Sixteen; OutputStride.Eight ] do
                use ours = BackboneRegistry.Create("resnet18", BackboneOptions(OutputStride = System.Nullable os))
                let mine = shapes ours
                let expected = theirs |> Map.filter (fun k _ -> not (k.StartsWith "fc."))
                Expect.equal (ordinal mine.Keys) (ordinal expected.Keys) $"output stride {int os}: the same keys"
                for KeyValue (k, s) in expected do Expect.equal mine[k] s $"output stride {int os}: {k} shape"
                Expect.isTrue (ours.IsIgnorableCheckpointKey "fc.weight" && ours.IsIgnorableCheckpointKey "fc.bias") "fc is reported as ignorable")

        testCase "A TorchVision ResNet-18 state dict loads into ours clean, fc ignored" (fun () ->
            torch.manual_seed 17L |> ignore
            use tv = torchvision.models.resnet18 ()
            use ours = BackboneRegistry.Create "resnet18"
            let sd = tv.state_dict ()
            let report = BackboneWeights.Load(ours, sd, "torchvision.models.resnet18()")
            Expect.isTrue report.IsClean (string report)
            Expect.equal (ordinal report.Ignored) [ "fc.bias"; "fc.weight" ] "only fc ignored"
            Expect.equal report.Loaded (ours.state_dict().Count) "every tensor loaded"
            let mine = ours.state_dict ()
            for KeyValue (k, t) in sd do
                if not (k.StartsWith "fc.") then Expect.isTrue (same t mine[k]) $"{k} copied")
    ]
