/// Train / eval behaviour (channel dropout, drop path, frozen batch norm), feature extraction
/// to safetensors, input normalisation and the registry's listing.
module Hybrid.Vision.Tests.ModesAndExtractionTests

open System
open System.IO
open Expecto
open TorchSharp
open Hybrid.Torch.Modules
open Hybrid.Torch.Serialization
open Hybrid.Vision.Backbones
open Hybrid.Vision.Tests.TestKit

let private output (struct (o: Tensor, _: Tensor)) = o

/// The norm layers of a module tree.
let private modulesOf<'M when 'M :> torch.nn.Module> (m: torch.nn.Module) : 'M list =
    m.named_modules () |> Seq.choose (fun struct (_, x) -> match x with :? 'M as b -> Some b | _ -> None) |> List.ofSeq

let private buffer (m: torch.nn.Module) (name: string) : Tensor = m.get_buffer name

[<Tests>]
let tests =
    testList "Backbones.ModesAndExtraction" [
        testCase "ResNet38 bottleneck channel dropout is active in train and off in eval" (fun () ->
            // The block type of wideresnet38's b6 (dropout 0.3) and b7 (dropout 0.5).
            torch.manual_seed 5L |> ignore
            use block = new PreActBottleneck(32L, 64L, 1L, 4L, 0.5, true)
            use _scope = torch.NewDisposeScope()
            let x = torch.randn [| 2L; 32L; 8L; 8L |]
            use _g = torch.no_grad ()
            block.train ()
            Expect.isFalse ((output (block.forward x)).allclose(output (block.forward x))) "train mode: channel dropout must make two passes differ"
            block.eval ()
            Expect.isTrue (same (output (block.forward x)) (output (block.forward x))) "eval mode must be deterministic")

        testCase "ViT drop path is active in train and off in eval" (fun () ->
            torch.manual_seed 6L |> ignore
            use m = BackboneRegistry.Create("vit_s16", BackboneOptions(DropPathRate = 0.5))
            use _scope = torch.NewDisposeScope()
            let x = torch.randn [| 4L; 3L; 32L; 32L |]
            use _g = torch.no_grad ()
            m.train ()
            (use a = m.forward x
             use b = m.forward x
             Expect.isFalse (a.Final.allclose b.Final) "train: drop path makes two passes differ")
            m.eval ()
            use a = m.forward x
            use b = m.forward x
            Expect.isTrue (same a.Final b.Final) "eval: deterministic")

        testCase "Frozen batch norm keeps running statistics and trains no affine parameter" (fun () ->
            torch.manual_seed 7L |> ignore
            use m = BackboneRegistry.Create("tiny_resnet", BackboneOptions(FrozenBatchNorm = true))
            let bns = modulesOf<FrozenBatchNorm2d> m
            Expect.isNonEmpty bns "frozen norms present"
            Expect.isEmpty (modulesOf<TorchSharp.Modules.BatchNorm2d> m) "no trainable batch norm left in a frozen backbone"
            for bn in bns do
                Expect.isFalse (bn.get_parameter("weight").requires_grad || bn.get_parameter("bias").requires_grad) "frozen affine parameters do not require grad"
            use _scope = torch.NewDisposeScope()
            let before = bns |> List.map (fun bn -> (buffer bn "running_mean").clone())
            m.train ()
            let x = torch.randn [| 2L; 3L; 32L; 32L |]
            (use f = m.forward x
             f.Final.mean().backward ())
            for bn, b in List.zip bns before do
                Expect.isTrue (same (buffer bn "running_mean") b) "running mean unchanged in train mode"
            // A frozen net treats each sample alone: sample 0's features do not depend on its batch mates.
            (use _g = torch.no_grad ()
             use both = m.forward x
             use alone = m.forward (x.narrow(0L, 0L, 1L))
             Expect.isTrue (both.Final.narrow(0L, 0L, 1L).allclose(alone.Final, 1e-4, 1e-5)) "sample 0 alone equals sample 0 in the batch")

            use trainable = BackboneRegistry.Create "tiny_resnet"
            trainable.train ()
            let bn0 = modulesOf<TorchSharp.Modules.BatchNorm2d> trainable |> List.head
            let rm = (buffer bn0 "running_mean").clone()
            (use _g = torch.no_grad ()
             use _f = trainable.forward x
             ())
            Expect.isFalse (same (buffer bn0 "running_mean") rm) "an unfrozen BN updates its running mean in train mode")

        testCase "Extract returns every stage and writes a safetensors file with metadata" (fun () ->
            withTempDir "hybrid-features-" (fun dir ->
                torch.manual_seed 8L |> ignore
                use m = BackboneRegistry.Create "vit_s16"
                m.train ()
                use _scope = torch.NewDisposeScope()
                let rgb = torch.rand [| 1L; 3L; 32L; 48L |]
                let x = ImageNormalization.ImageNet.Normalize rgb
                let feats = FeatureExtraction.Extract(m, x)
                Expect.isTrue m.training "Extract restores train mode"
                Expect.equal (ordinal feats.Keys) (ordinal (Seq.append (m.Info.Stages |> Seq.map (fun (s: StageInfo) -> s.Name)) [ "cls_token" ])) "every stage and the class token"
                Expect.equal feats["norm"].shape [| 1L; 384L; 2L; 3L |] "norm map"
                Expect.equal feats["cls_token"].shape [| 1L; 384L |] "class token"
                for t in feats.Values do Expect.isFalse t.requires_grad "extracted features carry no graph"
                for t in feats.Values do t.Dispose()

                let path = Path.Combine(dir, "features.safetensors")
                FeatureExtraction.WriteSafetensors(m, x, path)
                let struct (tensors, meta) = Safetensors.Load path
                try
                    Expect.equal meta["backbone"] "vit_s16" "backbone"
                    Expect.equal meta["input_shape"] "1,3,32,48" "input shape"
                    Expect.equal meta["normalization_mean"] "0.485,0.456,0.406" "normalisation"
                    Expect.isTrue (same tensors["input"] x) "the input is stored"
                    Expect.equal tensors["blocks.9"].shape [| 1L; 384L; 2L; 3L |] "blocks.9"
                finally
                    for t in tensors.Values do t.Dispose()))

        testCase "ImageNet normalisation uses torchvision's constants and inverts" (fun () ->
            Expect.equal ImageNormalization.ImageNet.Mean [| 0.485; 0.456; 0.406 |] "mean"
            Expect.equal ImageNormalization.ImageNet.Std [| 0.229; 0.224; 0.225 |] "std"
            use _scope = torch.NewDisposeScope()
            let img = floatTensor [| 0.485f; 0.456f + 0.224f; 0.406f - 0.225f |] [| 3L; 1L; 1L |]
            let n = floats (ImageNormalization.ImageNet.Normalize img)
            equalDigits 5 0.0 (float n[0]) "channel 0"
            equalDigits 5 1.0 (float n[1]) "channel 1"
            equalDigits 5 -1.0 (float n[2]) "channel 2"
            let batch = torch.rand [| 2L; 3L; 4L; 5L |]
            Expect.isTrue ((ImageNormalization.ImageNet.Denormalize(ImageNormalization.ImageNet.Normalize batch)).allclose(batch, 1e-5, 1e-6)) "Denormalize inverts Normalize"
            raises<ArgumentException> "four channels" (fun () -> ImageNormalization.ImageNet.Normalize(torch.zeros [| 1L; 4L; 2L; 2L |]) |> ignore) |> ignore)

        testCase "The registry lists every backbone with its size and features" (fun () ->
            let list = BackboneRegistry.List()
            Expect.sequenceEqual (list |> Seq.map (fun s -> s.Name)) [ "tiny_resnet"; "resnet18"; "resnet34"; "resnet50"; "resnet101"; "resnet18_imagenet"; "wideresnet38"; "vit_s16"; "vit_b16" ] "names in order"
            let tiny = list[0]
            inRange 500_000L 2_000_000L tiny.ParameterCount "tiny_resnet size"
            Expect.equal tiny.DefaultInputSize 96 "tiny_resnet input"
            Expect.equal tiny.Info.OutputStride 8L "tiny_resnet output stride"
            Expect.equal (BackboneRegistry.Spec("vit_b16").Info.LowLevel) "blocks.9" "vit_b16 low-level tap"
            Expect.equal (BackboneRegistry.InfoFor("wideresnet38", OutputStride.Sixteen).OutputStride) 16L "wideresnet38 at 16")
    ]
