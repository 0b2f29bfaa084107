/// TorchSharp's libtorch loads and computes in this process, and `hybrid version` describes it.
module Hybrid.Torch.Tests.RuntimeTests

open System
open Expecto
open TorchSharp
open Hybrid.Torch
open Hybrid.Torch.Tests.OneThread

[<Tests>]
let tests =
    testList "Runtime" [
        torchTest "TorchSharp loads and a conv forward and backward give finite gradients" (fun () ->
            use _scope = torch.NewDisposeScope()
            torch.manual_seed 11L |> ignore
            let conv = torch.nn.Conv2d(3L, 5L, 3L, stride = 2L, padding = 1L)
            let x = torch.randn ([| 2L; 3L; 9L; 9L |], requires_grad = true)       // (B, C, H, W)
            let y = conv.forward x                                                   // (2, 5, 5, 5)
            Expect.sequenceEqual y.shape [| 2L; 5L; 5L; 5L |] "conv output shape"
            y.square().mean().backward()
            for name, g in [ "input", x.grad; "weight", conv.weight.grad; "bias", conv.bias.grad ] do
                Expect.isNotNull g $"{name} has a gradient"
                Expect.isTrue (g.isfinite().all().item<bool>()) $"{name} gradient is finite"
                Expect.isTrue (g.abs().sum().item<float32>() > 0.0f) $"{name} gradient is not all zero"
            Expect.sequenceEqual conv.weight.grad.shape [| 5L; 3L; 3L; 3L |] "weight gradient shape")

        torchTest "Describe lists the TorchSharp and libtorch versions in use" (fun () ->
            let d = TorchRuntime.Describe() |> Seq.map (fun struct (k, v) -> k, v) |> Map.ofSeq
            let ts = typeof<torch>.Assembly.GetName().Version
            Expect.equal d["TorchSharp"] $"{ts.Major}.{ts.Minor}.{ts.Build}" "TorchSharp version is the loaded assembly's"
            Expect.stringStarts d["TorchSharp"] "0.107." "TorchSharp 0.107 (Directory.Packages.props)"
            Expect.equal d["libtorch"] torch.__version__ "libtorch version"
            Expect.stringStarts d["libtorch"] "2.10." "TorchSharp 0.107 runs libtorch 2.10"
            Expect.stringContains d["threads"] $"of {Environment.ProcessorCount} cores" "threads line"
            Expect.stringStarts d["CUDA"] "no" "this build is CPU-only"
            Expect.stringContains d["CUDA"] "TorchSharp-cuda-linux" "CUDA line names the GPU package"
            Expect.isTrue (d["malloc policy"].StartsWith "retain" || d["malloc policy"].StartsWith "system") "malloc policy line"
            for k in [ "MKL (BLAS)"; "oneDNN (MKLDNN)"; "OpenMP"; "LAPACK" ] do
                Expect.contains [ "yes"; "no"; "unknown" ] d[k] $"{k} is answered")
    ]
