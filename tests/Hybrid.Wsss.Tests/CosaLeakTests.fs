namespace Hybrid.Wsss.Tests

open Xunit
open Hybrid.Wsss.Tests.SingleThread
open Hybrid.Torch
open Hybrid.Torch.Optim
open Hybrid.Wsss.Methods.Cosa
open Hybrid.Wsss.Tests.CosaTestKit

/// Tests reading the process-wide live-tensor count run alone, after the parallel ones.
[<CollectionDefinition("live tensor count", DisableParallelization = true)>]
type LiveTensorCollection() = class end

[<Collection("live tensor count")>]
module CosaLeakTests =
    [<Fact>]
    let ``a training step leaves no live tensor behind`` () =
        singleThreaded <| fun () ->
            use m = model tiny
            let meth, _ = Cosa.ofModel tiny m
            use opt = new AdamW(meth.Groups, 1e-3)
            let b = batch 6L
            let step i =
                use _scope = torch.NewDisposeScope()
                let losses = meth.Step (ctx i) b
                opt.zero_grad ()
                (losses |> List.map snd |> List.reduce (+)).backward ()
                opt.step ()
                meth.AfterStep (ctx i)
            // the first steps create the optimizer state and gradients; after that the count is flat
            step 0
            step 1
            let before = LiveTensors.settledCount ()
            step 2
            step 3
            Assert.Equal(before, Tensor.LiveCount)
