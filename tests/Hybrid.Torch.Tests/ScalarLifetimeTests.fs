/// TorchSharp 0.107 leaves the Scalars it makes from .NET numbers to their finalizers; the
/// scalar lifetime guard (TorchRuntime.ScalarLifetimeGuard, set by scripts/test.sh and ./hybrid)
/// keeps them alive while libtorch reads them. These tests fail without the guard: measured
/// here, 3 million calls under the same allocation pressure gave 206 errors and a wrong count.
module Hybrid.Torch.Tests.ScalarLifetimeTests

open System
open System.Threading
open Expecto
open TorchSharp
open Hybrid.Torch
open Hybrid.Torch.Tests.OneThread

[<Tests>]
let tests =
    testList "ScalarLifetime" [
        test "the suite runs with TorchSharp's scalar lifetime guard on" {
            Expect.isTrue TorchRuntime.ScalarLifetimeGuard
                $"the guard is off: run the suite through scripts/test.sh (make test), or set {TorchRuntime.ScalarLifetimeGuardSetting}"
        }

        torchTest "scalars made from .NET numbers survive collections during the native call" (fun () ->
            // another thread allocates, so collections (and finalizers) run while libtorch works
            let mutable stop = false
            let pressure =
                Thread((fun () ->
                    let keep = Array.zeroCreate<obj> 64
                    let mutable i = 0
                    while not (Volatile.Read &stop) do
                        keep[i &&& 63] <- box (Array.zeroCreate<byte> 2000)
                        i <- i + 1), IsBackground = true)
            pressure.Start()
            let calls = 1_000_000
            use count = torch.tensor 0L                                     // int64 scalar tensor
            use values = torch.zeros 8L                                     // (8)
            use mask = torch.ones(8L).gt(torch.tensor 0.5f)                 // (8) all true
            let mutable errors = 0
            let mutable firstError = ""
            try
                for _ in 1 .. calls do
                    try
                        count.add_(Scalar.op_Implicit 1L) |> ignore                   // as C# `count.add_(1)`
                        use filled = values.masked_fill(mask, Scalar.op_Implicit -1.0)
                        ()
                    with e ->
                        if errors = 0 then firstError <- e.Message.Split('\n')[0]
                        errors <- errors + 1
            finally
                Volatile.Write(&stop, true)
                pressure.Join()
            Expect.equal errors 0 $"libtorch calls that read a freed scalar (first: {firstError})"
            Expect.equal (count.item<int64> ()) (int64 calls) "every add_(1) added one")
    ]
