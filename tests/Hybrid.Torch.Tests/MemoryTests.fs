/// Dispose scopes keep a long training run's native memory flat.
module Hybrid.Torch.Tests.MemoryTests

open System
open System.IO
open Expecto
open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Torch.Tests.OneThread

type private Tensor = torch.Tensor
type private F = torch.nn.functional

/// conv(1->4, 3x3) -> BN -> ReLU -> global average pool -> linear(4->3).
type private Tiny() as this =
    inherit torch.nn.Module<Tensor, Tensor>("Tiny")
    let conv = torch.nn.Conv2d(1L, 4L, 3L, padding = 1L)
    let bn = torch.nn.BatchNorm2d(4L)
    let fc = torch.nn.Linear(4L, 3L)
    do
        this.register_module ("conv", conv)
        this.register_module ("bn", bn)
        this.register_module ("fc", fc)

    override _.forward(x: Tensor) : Tensor =                                       // (B, 1, H, W)
        let h = (bn.forward (conv.forward x)).relu()                                // (B, 4, H, W)
        fc.forward (h.mean [| 2L; 3L |])                                            // (B, 3)

let private rssKiB () =
    File.ReadLines "/proc/self/status"
    |> Seq.tryFind (fun l -> l.StartsWith "VmRSS:")
    |> Option.map (fun l -> Int64.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]))
    |> Option.defaultWith (fun () -> invalidOp "no VmRSS in /proc/self/status")

/// The live-tensor count once every unreachable tensor has been finalized.
let private settledCount () =
    GC.Collect()
    GC.WaitForPendingFinalizers()
    GC.Collect()
    Tensor.TotalCount

let private steps = 10_000
let private warmup = 500
let private rssEvery = 250
/// Bound on the RSS trend over the 9,500 measured steps: the Theil-Sen slope (median of pairwise
/// slopes, so a one-off jump of the test host does not count) times the steps. A leak of one
/// small tensor per step (about 1 KiB with its bookkeeping) would give ~10 MiB.
let private trendBoundKiB = 4.0 * 1024.0
/// Bound on any RSS excursion above the post-warm-up level (a burst, not a trend).
let private excursionBoundKiB = 32L * 1024L

[<Tests>]
let tests =
    testList "Memory" [
        torchTest "ten thousand training steps keep live tensors flat and RSS bounded" (fun () ->
            torch.manual_seed 3L |> ignore
            use model = new Tiny()
            use opt = Optimizer.SGD([ ParamGroup(model.parameters ()) ], 0.05, momentum = 0.9)
            use x = torch.randn [| 4L; 1L; 4L; 4L |]                                  // (B, 1, H, W)
            use y = Data.longs [| 0L; 1L; 2L; 0L |] [| 4L |]

            let mutable baseline = -1L
            let mutable minLive = Int64.MaxValue
            let mutable maxLive = Int64.MinValue
            let rss = Collections.Generic.List<int * int64>()
            let mutable firstLoss = 0.0
            let mutable lastLoss = 0.0
            for step in 0 .. steps - 1 do
                do
                    use _scope = torch.NewDisposeScope()
                    opt.zero_grad ()
                    let loss = F.cross_entropy (model.forward x, y)
                    loss.backward ()
                    opt.step ()
                    if step = 0 then firstLoss <- loss.item<float32> () |> float
                    if step = steps - 1 then lastLoss <- loss.item<float32> () |> float
                if step + 1 = warmup then
                    // Tensors other tests left to the finalizer must not leave the count mid-run.
                    baseline <- settledCount ()
                if step + 1 >= warmup then
                    let live = Tensor.TotalCount
                    minLive <- min minLive live
                    maxLive <- max maxLive live
                    if (step + 1 - warmup) % rssEvery = 0 || step + 1 = steps then
                        GC.Collect()
                        GC.WaitForPendingFinalizers()
                        GC.Collect()
                        rss.Add((step + 1, rssKiB ()))

            let slopes =
                [ for i in 0 .. rss.Count - 1 do
                    for j in i + 1 .. rss.Count - 1 ->
                        float (snd rss[j] - snd rss[i]) / float (fst rss[j] - fst rss[i]) ]    // KiB per step
                |> List.sort
            let trend = slopes[slopes.Length / 2] * float (steps - warmup)
            let excursion = (rss |> Seq.map snd |> Seq.max) - snd rss[0]
            printfn "memory test: live tensors after warm-up %d (min %d, max %d); VmRSS %d -> %d KiB, trend %.0f KiB over %d steps, largest excursion %d KiB; loss %.4f -> %.4f"
                baseline minLive maxLive (snd rss[0]) (snd rss[rss.Count - 1]) trend (steps - warmup) excursion firstLoss lastLoss

            Expect.equal minLive baseline "exactly flat after warm-up (min)"
            Expect.equal maxLive baseline "exactly flat after warm-up (max)"
            Expect.isLessThan trend trendBoundKiB $"RSS trend {trend:F0} KiB over {steps - warmup} steps (bound {trendBoundKiB} KiB): native memory leaks"
            Expect.isLessThan excursion excursionBoundKiB $"RSS rose {excursion} KiB above its post-warm-up level (bound {excursionBoundKiB} KiB)"
            Expect.isLessThan lastLoss (firstLoss * 0.5) $"the model did not train: loss {firstLoss} -> {lastLoss}")

        torchTest "scopes free temporaries and keep what is moved out" (fun () ->
            let before = settledCount ()
            let mutable kept = null
            do
                use scope = torch.NewDisposeScope()
                use a = torch.ones [| 3L |]
                let b = a * 2
                let c = (b + 1).sum()
                kept <- c.MoveToOuterDisposeScope()
                Expect.isGreaterThanOrEqual scope.DisposablesCount 1 "the scope holds the temporaries"
                Expect.isFalse b.IsInvalid "alive inside the scope"
            Expect.isFalse kept.IsInvalid "moved out: alive"
            Expect.equal (kept.item<float32> ()) 9.0f "value"
            Expect.equal Tensor.TotalCount (before + 1L) "only the kept tensor is live"
            kept.Dispose()
            Expect.equal Tensor.TotalCount before "back to the count before"

            // Nested: moving out of the inner scope lands in the outer one, which frees it.
            let mutable inner = null
            do
                use _outer = torch.NewDisposeScope()
                do
                    use _innerScope = torch.NewDisposeScope()
                    inner <- (torch.zeros [| 2L |]).MoveToOuterDisposeScope()
                Expect.isFalse inner.IsInvalid "alive in the outer scope"
            Expect.isTrue inner.IsInvalid "freed by the outer scope"
            Expect.equal Tensor.TotalCount before "nothing left")
    ]
