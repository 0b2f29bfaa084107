/// Modules move with Module.to: converting to float64 replaces every parameter and buffer (by
/// its registered name, through the module's fields), keeps the state-dict keys, and forward
/// then computes in float64 from float64 inputs (no tensor of a fixed dtype or device is made
/// inside). Moving to the CPU, where everything already is, changes nothing.
module Hybrid.Vision.Tests.DeviceMoveTests

open Expecto
open TorchSharp
open Hybrid.Vision
open Hybrid.Vision.Backbones
open Hybrid.Vision.Heads
open Hybrid.Vision.Tests.TestKit

/// Every floating-point parameter and buffer of m is float64; the keys are unchanged.
let private movedToFloat64 (keysBefore: string list) (m: torch.nn.Module) =
    Expect.equal (ordinal (m.state_dict().Keys)) keysBefore "state-dict keys unchanged by the move"
    for KeyValue (k, t) in m.state_dict () do
        if k.EndsWith "num_batches_tracked" then Expect.equal t.dtype ScalarType.Int64 $"{k} stays int64"
        else Expect.equal t.dtype ScalarType.Float64 $"{k} moved to float64"

let private keysOf (m: torch.nn.Module) = ordinal (m.state_dict().Keys)

let private backboneMoves (name: string) (options: BackboneOptions) (side: int64) =
    torch.manual_seed 3L |> ignore
    use m = BackboneRegistry.Create(name, options)
    let keys = keysOf m
    let moved = m.``to``(ScalarType.Float64)
    Expect.isTrue (obj.ReferenceEquals(moved, m)) "to returns the module itself"
    movedToFloat64 keys m
    m.``to``(torch.CPU) |> ignore
    movedToFloat64 keys m
    for mode in [ true; false ] do
        m.train mode
        use _scope = torch.NewDisposeScope()
        let modeName = if mode then "train" else "eval"
        let x = torch.randn([| 1L; 3L; side; side |], ScalarType.Float64)
        use f = m.forward x
        for struct (stage, map) in f.Stages do
            Expect.equal map.dtype ScalarType.Float64 $"{name} ({modeName}): stage {stage} computed in float64"
            Expect.isTrue (isTrue (map.isfinite().all ())) $"{name}: stage {stage} finite"
        if not (isNull f.ClassToken) then Expect.equal f.ClassToken.dtype ScalarType.Float64 "class token in float64"
        f.Final.sum().backward()
        for struct (n, p) in m.named_parameters () do
            if p.requires_grad then
                use g = p.grad
                if not (isNull g) then Expect.equal g.dtype ScalarType.Float64 $"{n}: gradient in float64"

[<Tests>]
let tests =
    testList "Modules.DeviceMove" [
        for name, side in [ "tiny_resnet", 32L; "resnet18", 32L; "vit_s16", 32L ] do
            testCase $"Backbone {name} moves to float64 and runs there" (fun () -> backboneMoves name (BackboneOptions()) side)

        testCase "A frozen-norm backbone with drop path moves to float64 and runs there" (fun () ->
            backboneMoves "tiny_resnet" (BackboneOptions(FrozenBatchNorm = true)) 32L
            backboneMoves "vit_s16" (BackboneOptions(DropPathRate = 0.2)) 32L)

        testCase "ResNet38's blocks move to float64 and run there" (fun () ->
            torch.manual_seed 4L |> ignore
            use block = new PreActBlock(8L, 8L, 16L, 2L, 1L, 2L, false)
            use bottleneck = new PreActBottleneck(16L, 32L, 1L, 2L, 0.3, true)
            let kb, kn = keysOf block, keysOf bottleneck
            block.``to``(ScalarType.Float64) |> ignore
            bottleneck.``to``(ScalarType.Float64) |> ignore
            movedToFloat64 kb block
            movedToFloat64 kn bottleneck
            use _scope = torch.NewDisposeScope()
            let struct (y, act) = block.forward(torch.randn([| 1L; 8L; 8L; 8L |], ScalarType.Float64))
            let struct (z, act2) = bottleneck.forward y
            for t in [ y; act; z; act2 ] do Expect.equal t.dtype ScalarType.Float64 "computed in float64")

        testCase "Heads, affinity and domain classifier move to float64 and run there" (fun () ->
            use _scope = torch.NewDisposeScope()
            torch.manual_seed 5L |> ignore
            use cam = new CamClassifier(8L, 3L, bias = true)
            use fov = new DeepLabLargeFov(8L, 4L, LargeFovConfig(8L, 2L, 3L, 0.5, true))
            use aff = new CrossTaskDualAffinity(DualAffinityOptions(8L, ChunkRows = System.Nullable 5L))
            use dom = DomainClassifier.MultiHead(8L, 3)
            let modules : torch.nn.Module list = [ cam; fov; aff; dom ]
            let keys = modules |> List.map keysOf
            for m in modules do m.``to``(ScalarType.Float64) |> ignore
            List.iter2 movedToFloat64 keys modules
            let f = torch.randn([| 2L; 8L; 3L; 4L |], ScalarType.Float64)
            let g = torch.randn([| 2L; 8L; 3L; 4L |], ScalarType.Float64)
            for t in [ cam.forward f; cam.Cam f; fov.forward f; dom.forward f ] do Expect.equal t.dtype ScalarType.Float64 "head output in float64"
            use o = aff.forward(f, g)
            for t in [ o.SaliencyFeatures; o.SegmentationFeatures; o.Affinity.Dense(); o.Affinity.Refine(g) ] do
                Expect.equal t.dtype ScalarType.Float64 "affinity output in float64"
            let feature = AffinityRandomWalk.FeatureAffinity(f, 2.0)
            Expect.equal feature.dtype ScalarType.Float64 "feature affinity in float64")
    ]
