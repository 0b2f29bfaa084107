/// The malloc policy: parsing HYBRID_MALLOC and applying it at start-up.
module Hybrid.Torch.Tests.HostAllocatorTests

open System
open System.IO
open Expecto
open TorchSharp
open Hybrid.Torch

let private isGlibc () =
    OperatingSystem.IsLinux() && File.ReadAllText("/proc/self/maps").Contains("libc.so.6")

[<Tests>]
let tests =
    testList "HostAllocator" [
        // What Retain changes (page faults per step) is measured, not asserted: bench/ records
        // minor_faults_per_sample beside every step time (bench/RESULTS.md). A test cannot show it
        // in-process: the test runner's threads allocate from per-thread arenas, whose heaps glibc
        // unmaps when they empty whatever the thresholds (HostAllocator's summary).
        testList "parses the environment" [
            for value, expected in [ null, HostAllocatorPolicy.Retain
                                     "", HostAllocatorPolicy.Retain
                                     " Retain ", HostAllocatorPolicy.Retain
                                     "system", HostAllocatorPolicy.System ] ->
                let shown = match value with null -> "unset" | v -> $"'{v}'"
                testCase $"HYBRID_MALLOC={shown}" (fun () ->
                    Expect.equal (HostAllocator.FromEnvironment value) expected "policy")
        ]

        testCase "rejects an unknown policy naming the choices" (fun () ->
            let e = Expect.throwsC (fun () -> HostAllocator.FromEnvironment "jemalloc" |> ignore) id
            Expect.isTrue (e :? ArgumentException) $"{e.GetType().Name}"
            Expect.stringContains e.Message "retain" "names retain"
            Expect.stringContains e.Message "system" "names system")

        testCase "the environment policy is in force on glibc" (fun () ->
            (torch.zeros [| 1L |]).Dispose()                                        // the module initializers have run
            let expected =
                if isGlibc () then HostAllocator.FromEnvironment(Environment.GetEnvironmentVariable "HYBRID_MALLOC")
                else HostAllocatorPolicy.System                                      // a no-op elsewhere (documented)
            Expect.equal HostAllocator.Policy expected "policy in force")
    ]
