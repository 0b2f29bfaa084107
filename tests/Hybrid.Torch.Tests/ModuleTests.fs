/// Modules built on TorchSharp as the project builds them: PyTorch's state-dict key names,
/// torchvision-style `.pth` files written by PyTorch loading into them, state-dict load reports,
/// train/eval, batch-norm statistics, Sequential, dtype moves and dropout.
module Hybrid.Torch.Tests.ModuleTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open TorchSharp
open TorchSharp.Modules
open Hybrid.Torch.Modules
open Hybrid.Torch.Optim
open Hybrid.Torch.Serialization
open Hybrid.Torch.Tests.OneThread

type private Tensor = torch.Tensor

let private pytorchKeys () = Reference.strings (Reference.entry("tiny_resnet").GetProperty "keys")

let private disposeAll (d: Dictionary<string, Tensor>) = for t in d.Values do t.Dispose()

let private sorted (xs: seq<string>) = xs |> Seq.sortWith (fun a b -> String.CompareOrdinal(a, b)) |> List.ofSeq

[<Tests>]
let tests =
    testList "Modules" [
        torchTest "state-dict keys have PyTorch's names" (fun () ->
            // TorchSharp lists a module's parameters (recursively) before its buffers, so the key
            // ORDER differs from PyTorch's per-module order; names are what loading matches on.
            use m = new TinyResNet()
            let keys = m.state_dict().Keys |> List.ofSeq
            Expect.equal (sorted keys) (sorted (pytorchKeys ())) "names as PyTorch's TinyResNet"
            Expect.equal keys.Length (pytorchKeys ()).Length "no key twice"
            Expect.contains keys "layer1.0.bn1.running_var" "nested block key"
            Expect.equal (m.state_dict()["bn1.num_batches_tracked"]).dtype torch.ScalarType.Int64 "num_batches_tracked is int64"
            let count = m.parameters () |> Seq.sumBy (fun p -> p.numel ())
            Expect.equal count (4L * 3L * 9L + 4L * 4L * 9L + 2L * (4L + 4L) + 3L * 4L + 3L) "parameter count")

        torchTest "a PyTorch state-dict .pth loads and the model computes what PyTorch computed" (fun () ->
            let fx = Reference.entry "tiny_resnet"
            let sd = PyTorchFile.Load(Reference.pathOf "tiny_resnet_state.pth")
            try
                Expect.equal (sorted sd.Keys) (sorted (pytorchKeys ())) "keys read from the .pth"
                for kv in sd do
                    Reference.close (fx.GetProperty("state").GetProperty kv.Key) kv.Value 0.0 0.0 $"tensor '{kv.Key}' read from the .pth"
                Expect.equal (sd["bn1.num_batches_tracked"].item<int64> ()) 7L "num_batches_tracked"
                use m = new TinyResNet()
                let report = StateDicts.Load(m, sd)
                Expect.isTrue report.IsClean (string report)
                m.eval ()
                use x = Reference.toTensor (fx.GetProperty "input")                     // (2, 3, 6, 6) float32
                use y = m.forward x                                                       // (2, 3)
                let source = Reference.text fx "source"
                Reference.close (fx.GetProperty "output") y 1e-5 1e-4 $"TinyResNet output [{source}]"
            finally disposeAll sd)

        torchTest "a training checkpoint .pth flattens to dotted keys and skips non-tensors" (fun () ->
            // {"model": sd, "optimizer": SGD state (integer keys), "epoch": 3, "best_acc": 0.5,
            //  "args": argparse.Namespace(...)}: numbers and the Namespace carry no tensor and are skipped.
            let fx = Reference.entry "tiny_resnet"
            let sd = PyTorchFile.Load(Reference.pathOf "tiny_resnet_nested.pth")
            try
                let expected = Reference.strings (fx.GetProperty "nested_keys")
                Expect.equal (sorted sd.Keys) (sorted expected) "flattened keys"
                Expect.isTrue (sd.ContainsKey "optimizer.state.0.momentum_buffer") "integer keys become dotted names"
                Reference.close (fx.GetProperty "nested_momentum_0") sd["optimizer.state.0.momentum_buffer"] 0.0 0.0 "momentum buffer 0"
                use m = new TinyResNet()
                let inner =
                    sd |> Seq.filter (fun kv -> kv.Key.StartsWith "model.") |> Seq.map (fun kv -> KeyValuePair(kv.Key["model.".Length ..], kv.Value)) |> Dictionary
                Expect.isTrue (StateDicts.Load(m, inner).IsClean) "the model part loads cleanly"
                use fcw = Reference.toTensor (fx.GetProperty("state").GetProperty "fc.weight")
                Expect.isTrue (Same.tensors m.fc.weight fcw) "fc.weight loaded"
            finally disposeAll sd)

        torchTest "a legacy-format (pre-zip) .pth is refused with a clear error naming the file" (fun () ->
            // tiny_resnet_legacy.pth was written by python3-torch 1.13 with
            // _use_new_zipfile_serialization=False; TorchSharp.PyBridge reads only the zip format.
            let path = Reference.pathOf "tiny_resnet_legacy.pth"
            Expect.isTrue (File.Exists path) "fixture present"
            let e = Expect.throwsC (fun () -> PyTorchFile.Load path |> ignore) id
            Expect.isTrue (e :? InvalidDataException) $"{e.GetType().Name}: {e.Message}"
            Expect.stringContains e.Message path "names the file"
            Expect.stringContains e.Message "not a zip archive" "says what is wrong"
            Expect.stringContains e.Message "re-save" "says what to do")

        torchTest "StateDicts.Load reports missing, unexpected and mis-shaped keys" (fun () ->
            use src = new TinyResNet()
            use dst = new TinyResNet()
            let sd = Dictionary<string, Tensor>(src.state_dict ())
            sd.Remove "fc.bias" |> ignore
            use extra = torch.zeros [| 2L |]
            sd["head.weight"] <- extra
            use wrong = torch.zeros (5L, 4L)
            sd["fc.weight"] <- wrong

            let ex = Expect.throwsC (fun () -> StateDicts.Load(dst, sd) |> ignore) id
            Expect.isTrue (ex :? InvalidOperationException) $"{ex.GetType().Name}"
            Expect.stringContains ex.Message "1 missing: fc.bias" "missing"
            Expect.stringContains ex.Message "1 unexpected: head.weight" "unexpected"
            Expect.stringContains ex.Message "fc.weight model [3,4] file [5,4]" "mis-shaped"
            Expect.isFalse (Same.tensors dst.conv1.weight src.conv1.weight) "strict: nothing copied"

            let report = StateDicts.Load(dst, sd, strict = false)
            Expect.sequenceEqual report.Missing [ "fc.bias" ] "missing"
            Expect.sequenceEqual report.Unexpected [ "head.weight" ] "unexpected"
            Expect.equal report.Mismatched.Count 1 "one mis-shaped"
            let struct (key, expected, found) = report.Mismatched[0]
            Expect.equal key "fc.weight" "mis-shaped key"
            Expect.sequenceEqual expected [| 3L; 4L |] "model shape"
            Expect.sequenceEqual found [| 5L; 4L |] "file shape"
            Expect.isFalse report.IsClean "not clean"
            Expect.isTrue (Same.tensors dst.conv1.weight src.conv1.weight) "the matching keys were copied"
            Expect.isFalse (Same.tensors dst.fc.weight src.fc.weight) "the mis-shaped one was not")

        torchTest "train and eval reach every child" (fun () ->
            use m = new TinyResNet()
            let modules = m.named_modules () |> List.ofSeq
            for struct (name, x) in modules do Expect.isTrue x.training $"{name} starts in training"
            m.eval ()
            Expect.isFalse m.training "root in eval"
            for struct (name, x) in modules do Expect.isFalse x.training $"{name} in eval"
            Expect.isTrue (modules |> List.exists (fun struct (n, _) -> n = "layer1.0.bn1")) "the nested batch norm is reached"
            m.train ()
            Expect.isTrue m.block.bn1.training "train() reaches layer1.0.bn1")

        torchTest "Norms.BatchNorm2d updates running stats in training as PyTorch does" (fun () ->
            // fixture case batch_norm_train: F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)
            let c = Reference.root().GetProperty("cases").GetProperty "batch_norm_train"
            let input (n: string) = Reference.toTensor (c.GetProperty("inputs").GetProperty n)
            let expr, source = Reference.text c "expr", Reference.text c "source"
            let provenance = $"batch_norm_train: {expr} [{source}]"
            let output (i: int) = c.GetProperty("outputs")[i]
            use bnm = Norms.BatchNorm2d(4L, false, eps = 1e-5, momentum = 0.1)
            bnm.``to`` torch.ScalarType.Float64 |> ignore
            let bn = bnm :?> BatchNorm2d
            do
                use _g = torch.no_grad ()
                use rm = input "rm"
                use rv = input "rv"
                use w = input "w"
                use b = input "b"
                bn.running_mean.copy_ rm |> ignore
                bn.running_var.copy_ rv |> ignore
                bn.weight.copy_ w |> ignore
                bn.bias.copy_ b |> ignore
            use x = input "x"
            use y = bn.forward x
            Reference.close (output 0) y 1e-10 1e-8 provenance
            Reference.close (output 1) bn.running_mean 1e-10 1e-8 (provenance + " running_mean")
            Reference.close (output 2) bn.running_var 1e-10 1e-8 (provenance + " running_var")
            Expect.equal (bn.num_batches_tracked.item<int64> ()) 1L "num_batches_tracked"
            Expect.equal bn.num_batches_tracked.dtype torch.ScalarType.Int64 "num_batches_tracked dtype"

            // Eval: running statistics are used and left alone.
            bn.eval ()
            let before = bn.running_mean.data<float>().ToArray()
            use y2 = bn.forward x
            Expect.sequenceEqual (bn.running_mean.data<float>().ToArray()) before "running mean unchanged in eval"
            Expect.equal (bn.num_batches_tracked.item<int64> ()) 1L "num_batches_tracked unchanged in eval"
            use _scope = torch.NewDisposeScope()
            let v (t: Tensor) = t.view (1L, 4L, 1L, 1L)
            let expected = (x - v bn.running_mean) / (v bn.running_var + 1e-5).sqrt() * v bn.weight + v bn.bias
            Expect.isTrue (y2.allclose (expected, rtol = 1e-10, atol = 1e-12)) "eval normalises with the running statistics")

        torchTest "Sequential names children by position and composes them" (fun () ->
            use seq =
                torch.nn.Sequential(
                    torch.nn.Conv2d(2L, 3L, 3L, padding = 1L) :> torch.nn.Module<Tensor, Tensor>,
                    torch.nn.BatchNorm2d(3L), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1L))
            Expect.equal (sorted (seq.state_dict().Keys))
                (sorted [ "0.weight"; "0.bias"; "1.weight"; "1.bias"; "1.running_mean"; "1.running_var"; "1.num_batches_tracked" ]) "keys"
            Expect.equal seq.Count 4 "four children"
            seq.eval ()
            use x = (Data.normal [| 2L; 2L; 5L; 5L |] 40).to_type torch.ScalarType.Float32
            use y = seq.forward x                                                         // (2, 3, 1, 1)
            use _scope = torch.NewDisposeScope()
            let manual = seq[3].call (seq[2].call (seq[1].call (seq[0].call x)))
            Expect.sequenceEqual y.shape [| 2L; 3L; 1L; 1L |] "shape"
            Expect.isTrue (Same.tensors y manual) "forward = the children in order"
            seq.append (torch.nn.Identity()) |> ignore
            Expect.equal seq.Count 5 "appended")

        torchTest "to(float64) casts floating tensors, keeps integers, and an optimizer made after it steps the moved parameters" (fun () ->
            // TorchSharp's Module.to(dtype) replaces each Parameter with a new one and disposes the
            // old (Module._toEpilog): an optimizer must be made after the move, as here.
            use m = new TinyResNet()
            m.``to`` torch.ScalarType.Float64 |> ignore
            for p in m.parameters () do Expect.equal p.dtype torch.ScalarType.Float64 "parameter dtype"
            Expect.equal m.bn1.running_var.dtype torch.ScalarType.Float64 "buffer dtype"
            Expect.equal m.bn1.num_batches_tracked.dtype torch.ScalarType.Int64 "integers stay integers"
            Expect.isTrue m.conv1.weight.requires_grad "still trainable"
            use opt = Optimizer.SGD([ ParamGroup(m.parameters ()) ], 0.1)
            use x = Data.normal [| 2L; 3L; 6L; 6L |] 41                                  // float64 input now fits
            let before = m.conv1.weight.data<float>().ToArray()
            do
                use y = m.forward x
                use loss = y.square().sum()
                loss.backward ()
            opt.step ()
            Expect.notEqual (m.conv1.weight.data<float>().ToArray()) before "the optimizer moved the float64 weights")

        torchTest "dropout is the identity in eval and drops in training" (fun () ->
            use d = torch.nn.Dropout(0.5)
            use x = torch.ones [| 1000L |]
            d.eval ()
            do
                use y = d.forward x
                Expect.isTrue (Same.tensors y x) "identity in eval"
            d.train ()
            use yt = d.forward x
            let v = yt.data<float32>().ToArray()
            for e in v do Expect.isTrue (e = 0.0f || e = 2.0f) $"{e}: kept values scaled by 1/(1-p)"
            let zeros = v |> Array.filter (fun e -> e = 0.0f) |> Array.length
            Expect.isTrue (zeros >= 350 && zeros <= 650) $"{zeros} of 1000 dropped")
    ]
