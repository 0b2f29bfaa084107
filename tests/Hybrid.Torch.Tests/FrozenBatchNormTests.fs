/// FrozenBatchNorm2d: BatchNorm2d's eval-mode function and state-dict keys, nothing trainable,
/// whatever train() says.
module Hybrid.Torch.Tests.FrozenBatchNormTests

open Expecto
open TorchSharp
open TorchSharp.Modules
open Hybrid.Torch.Modules
open Hybrid.Torch.Tests.OneThread

type private Tensor = torch.Tensor

/// A BatchNorm2d with non-trivial affine parameters and running statistics (seeded).
let private trainedStats (c: int64) (seed: int) : BatchNorm2d =
    let bn = torch.nn.BatchNorm2d(c)
    use _g = torch.no_grad ()
    use w = Data.uniform [| c |] seed 0.5 1.5
    use b = Data.normal [| c |] (seed + 1)
    use rm = Data.normal [| c |] (seed + 2)
    use rv = Data.uniform [| c |] (seed + 3) 0.2 3.0
    bn.weight.copy_ w |> ignore
    bn.bias.copy_ b |> ignore
    bn.running_mean.copy_ rm |> ignore
    bn.running_var.copy_ rv |> ignore
    bn.num_batches_tracked.fill_ 5 |> ignore
    bn

[<Tests>]
let tests =
    testList "FrozenBatchNorm2d" [
        torchTest "its state-dict keys are BatchNorm2d's, in order, with the same dtypes" (fun () ->
            use frozen = new FrozenBatchNorm2d(6L)
            use bn = torch.nn.BatchNorm2d(6L)
            let f = frozen.state_dict ()
            let b = bn.state_dict ()
            Expect.sequenceEqual f.Keys b.Keys "keys"
            Expect.sequenceEqual f.Keys [ "weight"; "bias"; "running_mean"; "running_var"; "num_batches_tracked" ] "PyTorch's names"
            for k in b.Keys do
                Expect.equal f[k].dtype b[k].dtype $"{k} dtype"
                Expect.sequenceEqual f[k].shape b[k].shape $"{k} shape")

        torchTest "loaded with a BatchNorm2d's state it computes what that BatchNorm2d computes in eval mode" (fun () ->
            use _scope = torch.NewDisposeScope()
            let bn = trainedStats 4L 50
            bn.eval ()
            use frozen = new FrozenBatchNorm2d(4L)
            frozen.load_state_dict (bn.state_dict ()) |> ignore
            let x = (Data.normalWith [| 3L; 4L; 5L; 6L |] 54 2.0 0.5).to_type torch.ScalarType.Float32   // (B, C, H, W)
            let expected = bn.forward x
            let got = frozen.forward x
            Expect.isTrue (got.allclose (expected, rtol = 1e-5, atol = 1e-6)) "frozen = BatchNorm2d.eval()"
            // and that is the closed form (x - mean) / sqrt(var + eps) * w + b
            let v (t: Tensor) = t.view (1L, -1L, 1L, 1L)
            let manual = (x - v bn.running_mean) / (v bn.running_var + 1e-5).sqrt() * v bn.weight + v bn.bias
            Expect.isTrue (got.allclose (manual, rtol = 1e-5, atol = 1e-6)) "closed form"
            // the frozen one equals the eval-mode one also when both are "training"
            frozen.train ()
            let inTraining = frozen.forward x
            Expect.isTrue (Same.tensors inTraining got) "train() does not switch to batch statistics"
            let before = frozen.state_dict () |> Seq.map (fun kv -> kv.Key, kv.Value.clone ()) |> List.ofSeq
            frozen.forward x |> ignore
            for k, t in before do
                Expect.isTrue (Same.tensors (frozen.state_dict()[k]) t) $"{k} unchanged by a forward in training mode")

        torchTest "no gradient reaches its parameters; the input still gets one" (fun () ->
            use _scope = torch.NewDisposeScope()
            use frozen = new FrozenBatchNorm2d(3L)
            frozen.load_state_dict ((trainedStats 3L 60).state_dict ()) |> ignore
            let ps = frozen.parameters () |> List.ofSeq
            Expect.equal ps.Length 2 "weight and bias are parameters (state-dict keys)"
            for p in ps do Expect.isFalse p.requires_grad "parameter does not require grad"
            let x = torch.randn ([| 2L; 3L; 4L; 4L |], requires_grad = true)
            frozen.forward(x).square().sum().backward()
            for p in ps do Expect.isNull p.grad "no gradient on a frozen parameter"
            Expect.isNotNull x.grad "the input's gradient flows through"
            Expect.isTrue (x.grad.abs().sum().item<float32>() > 0.0f) "non-zero input gradient")

        torchTest "stays frozen after train(), eval() and train(true)" (fun () ->
            use frozen = new FrozenBatchNorm2d(3L)
            frozen.train ()
            Expect.isTrue frozen.training "train() sets the training flag"
            for p in frozen.parameters () do Expect.isFalse p.requires_grad "after train()"
            frozen.eval ()
            frozen.train true
            for p in frozen.parameters () do Expect.isFalse p.requires_grad "after eval(); train(true)"
            // also as a child of a model that is put in training mode
            use seq = torch.nn.Sequential(torch.nn.Conv2d(2L, 3L, 1L), frozen :> torch.nn.Module<Tensor, Tensor>)
            seq.train ()
            for struct (name, p) in seq.named_parameters () do
                Expect.equal p.requires_grad (name.StartsWith "0.") $"{name}: only the conv trains")

        torchTest "Norms.BatchNorm2d gives TorchSharp's trainable BatchNorm2d or the frozen one with the same keys" (fun () ->
            use trainable = Norms.BatchNorm2d(4L, false)
            use frozen = Norms.BatchNorm2d(4L, true, eps = 1e-3)
            Expect.isTrue (trainable :? BatchNorm2d) "trainable is TorchSharp's BatchNorm2d"
            Expect.isTrue (frozen :? FrozenBatchNorm2d) "frozen is FrozenBatchNorm2d"
            Expect.equal (frozen :?> FrozenBatchNorm2d).eps 1e-3 "eps passed on"
            Expect.sequenceEqual (frozen.state_dict().Keys) (trainable.state_dict().Keys) "same keys"
            Expect.isTrue (trainable.parameters () |> Seq.forall (fun p -> p.requires_grad)) "trainable parameters")
    ]
