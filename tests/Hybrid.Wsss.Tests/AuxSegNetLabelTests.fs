module Hybrid.Wsss.Tests.AuxSegNetLabelTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid.Wsss
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.AuxSegNetKit
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

/// A batch of CAMs (B, K, H, W), multi-hot labels (B, K) and saliency (B, 1, H, W) as arrays.
type private Case =
    { B: int; K: int; H: int; W: int
      Cams: float[]; Labels: float[]; Saliency: float[] }

let private cases: Gen<Case> = gen {
    let! b = Gen.choose (1, 2)
    let! k = Gen.choose (1, 4)
    let! h = Gen.choose (1, 5)
    let! w = Gen.choose (1, 5)
    let! cams = Gen.arrayOfLength (b * k * h * w) confidence
    let! labels = Gen.arrayOfLength (b * k) (Gen.elements [ 0.0; 1.0 ])
    let! saliency = Gen.arrayOfLength (b * h * w) (Gen.frequency [ 3, confidence; 1, Gen.elements [ 0.06; 0.0; 0.059 ] ])
    return { B = b; K = k; H = h; W = w; Cams = cams; Labels = labels; Saliency = saliency }

}

let private tensorLabelsWith (thresholds: CueThresholds) (c: Case) : int64[] =
    use scope = torch.NewDisposeScope()
    let cams = torch.tensor(c.Cams |> Array.map float32, [| int64 c.B; int64 c.K; int64 c.H; int64 c.W |])
    let labels = torch.tensor(c.Labels |> Array.map float32, [| int64 c.B; int64 c.K |])
    let sal = torch.tensor(c.Saliency |> Array.map float32, [| int64 c.B; 1L; int64 c.H; int64 c.W |])
    longs (PseudoLabelMaps.segmentation thresholds cams labels sal)

let private tensorLabels (c: Case) : int64[] = tensorLabelsWith PseudoLabels.paper c

let private agreesWithArrayRule (thresholds: CueThresholds) =
    Prop.forAll (Arb.fromGen cases) (fun c ->
        let out = tensorLabelsWith thresholds c
        let n = c.H * c.W
        Seq.forall
            (fun img ->
                let present = [| for k in 0 .. c.K - 1 do if c.Labels.[img * c.K + k] = 1.0 then yield k |]
                // the array rule in float32 precision, as the tensors hold it
                let maps = [| for k in present do for p in 0 .. n - 1 -> float (float32 c.Cams.[(img * c.K + k) * n + p]) |]
                let cm = ClassMaps.create c.H c.W (present |> Array.map (fun k -> k + 1)) maps
                let expected = PseudoLabels.segmentation thresholds cm (Array.init n (fun p -> float (float32 c.Saliency.[img * n + p])))
                Array.forall2 (fun (e: int) (a: int64) -> int64 e = a) expected out.[img * n .. img * n + n - 1])
            (seq { 0 .. c.B - 1 }))

[<Tests>]
let tests =
    testList "AuxSegNetLabel" [
        propertyN 100 "tensor rule: foreground only where both cues agree, ignore where one fires, only present classes" (
            Prop.forAll (Arb.fromGen cases) (fun c ->
                let out = tensorLabels c
                let n = c.H * c.W
                Seq.forall
                    (fun i ->
                        let img, p = i / n, i % n
                        let present k = c.Labels.[img * c.K + k] = 1.0
                        let peak =
                            [ for k in 0 .. c.K - 1 do if present k then yield float32 c.Cams.[(img * c.K + k) * n + p] ]
                            |> List.fold max Single.NegativeInfinity
                        let camFires = peak > 0.2f
                        let salient = float32 c.Saliency.[i] >= 0.06f
                        match out.[i] with
                        | 255L -> camFires <> salient
                        | 0L -> not camFires && not salient
                        | l -> camFires && salient && present (int l - 1) && float32 c.Cams.[(img * c.K + int l - 1) * n + p] = peak)
                    (seq { 0 .. out.Length - 1 })))

        propertyN 100 "tensor rule agrees with the array rule of PseudoLabels (fixed saliency cut)" (
            agreesWithArrayRule { Cam = float 0.2f; Saliency = Fixed(float 0.06f) })

        testList "tensor rule agrees with the array rule of PseudoLabels (cut at k x the image's mean saliency)" [
            propertyN 100 "k = 2" (agreesWithArrayRule { Cam = float 0.2f; Saliency = TimesMean 2.0 })
            propertyN 50 "k = 0.5" (agreesWithArrayRule { Cam = float 0.2f; Saliency = TimesMean 0.5 })
        ]

        testCase "multi-scale CAMs are normalised maps of the present classes at image size" <| fun () ->
            use scope = torch.NewDisposeScope()
            for scales in [ [ 1.0 ]; [ 0.5; 1.0; 1.5 ] ] do
                use net = tinyNetwork { tinyConfig with CamScales = scales; CamFlip = (scales.Length = 1) }
                let b = batch 21L 3
                let cams, sal = LabelGeneration.multiScaleCam net true true b.Images b.Labels
                Expect.equal cams.shape [| 3L; int64 classes; side; side |] "cams.shape"
                Expect.isTrue (cams.ge(0.0).logical_and(cams.le(1.0 + 1e-6)).all().ToBoolean()) "cams.ge(0.0).logical_and(cams.le(1.0 + 1e-6)).all().ToBoolean()"
                let absent = b.Labels.eq(0.0).view(3L, int64 classes, 1L, 1L).expand(cams.shape)
                Expect.equal (cams.masked_select(absent).abs().sum().ToSingle()) 0.0f "cams.masked_select(absent).abs().sum().ToSingle()"
                Expect.equal sal.Value.shape [| 3L; 1L; side; side |] "sal.Value.shape"

        testCase "labels after classification use the dataset saliency; labels after a stage update it" <| fun () ->
            use scope = torch.NewDisposeScope()
            use net = tinyNetwork tinyConfig
            let b = batch 22L 2
            let first = LabelGeneration.batch net AfterClassification toRgb b
            close (Batch.saliency b) first.Saliency 0.0
            let labelsOk (seg: Tensor) =
                let v = longs seg
                let lab = floats b.Labels
                v |> Array.mapi (fun i l -> l = 0L || l = 255L || (l >= 1L && l <= int64 classes && lab.[(i / int (side * side)) * classes + int l - 1] = 1.0f)) |> Array.forall id
            Expect.isTrue (labelsOk first.Segmentation) "labelsOk first.Segmentation"
            let set = LabelSet.create 0 (LabelSet.ofBatch b.Ids first.Segmentation first.Saliency)
            let next = LabelGeneration.batch net (AfterStage set) toRgb b
            Expect.equal next.Saliency.shape [| 2L; 1L; side; side |] "next.Saliency.shape"
            Expect.isTrue (next.Saliency.ge(0.0).logical_and(next.Saliency.le(1.0)).all().ToBoolean()) "next.Saliency.ge(0.0).logical_and(next.Saliency.le(1.0)).all().ToBoolean()"
            Expect.isTrue (maxAbs (next.Saliency - first.Saliency) > 1e-3) "maxAbs (next.Saliency - first.Saliency) > 1e-3"       // Eq. 1 changed the labels
            Expect.isTrue (labelsOk next.Segmentation) "labelsOk next.Segmentation"

        testCase "label sets round-trip a batch (saliency to 1/255)" <| fun () ->
            use scope = torch.NewDisposeScope()
            let b = batch 23L 2
            let seg = (randomTargets b).Segmentation
            let sal = Batch.saliency b
            let set = LabelSet.create 4 (LabelSet.ofBatch b.Ids seg sal)
            let back = LabelSet.targets set b.Ids side side torch.CPU
            close seg back.Segmentation 0.0
            Expect.isTrue (maxAbs (sal - back.Saliency) <= 0.5 / 255.0 + 1e-6) "maxAbs (sal - back.Saliency) <= 0.5 / 255.0 + 1e-6"
            let err = throws<ArgumentException> (fun () -> LabelSet.targets set b.Ids 16L 16L torch.CPU |> ignore)
            Expect.stringContains err.Message "geometric augmentation" "'geometric augmentation'"
            throws<ArgumentException> (fun () -> LabelSet.targets set [| "missing" |] side side torch.CPU |> ignore) |> ignore

        testCase "saliency update is the average without CRF and a CRF marginal with it" <| fun () ->
            use scope = torch.NewDisposeScope()
            // a bright square on a dark image; previous label and prediction agree on it weakly
            let img = torch.zeros([| 1L; 3L; 24L; 24L |]) - 2.0
            img.narrow(2L, 6L, 12L).narrow(3L, 6L, 12L).fill_(2.0) |> ignore
            let square = torch.zeros([| 1L; 1L; 24L; 24L |]) + 0.2
            square.narrow(2L, 6L, 12L).narrow(3L, 6L, 12L).fill_(0.8) |> ignore
            let noisy = square + (torch.rand([| 1L; 1L; 24L; 24L |]) - 0.5) * 0.3
            let prediction = noisy.clamp(0.0, 1.0)
            let plain = SaliencyLabels.update false (toRgb img) square prediction
            close ((square + prediction) * 0.5) plain 1e-6
            let crf = SaliencyLabels.update true (toRgb img) square prediction
            Expect.isTrue (crf.ge(0.0).logical_and(crf.le(1.0)).all().ToBoolean()) "crf.ge(0.0).logical_and(crf.le(1.0)).all().ToBoolean()"
            let inside = crf.narrow(2L, 8L, 8L).narrow(3L, 8L, 8L)
            let corner = crf.narrow(2L, 0L, 4L).narrow(3L, 0L, 4L)
            Expect.isTrue (inside.amin([| 0L; 1L; 2L; 3L |]).ToSingle() > 0.5f) "inside.amin([| 0L; 1L; 2L; 3L |]).ToSingle() > 0.5f"
            Expect.isTrue (corner.amax([| 0L; 1L; 2L; 3L |]).ToSingle() < 0.5f) "corner.amax([| 0L; 1L; 2L; 3L |]).ToSingle() < 0.5f"
    ]
