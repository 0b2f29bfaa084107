module Hybrid.Wsss.Tests.EvalTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Data
open Hybrid.Wsss
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

/// CAMs with a matching ground truth of labels 0..10 (some 255).
let private camsWithGt: Gen<ClassMaps * int[]> = gen {
    let! cams = classMaps 3
    let! gt =
        Gen.arrayOfLength (ClassMaps.pixels cams) (Gen.frequency [ 6, Gen.choose (0, 20); 1, Gen.constant 255 ])
    return cams, gt

}

[<Tests>]
let tests =
    testList "Eval" [
        // Hand-computed. C = 3, gt [0;0;1;1;2;2;255], pred [0;1;1;1;2;0;2] (last pixel ignored):
        // counts (gt,pred): (0,0)=1 (0,1)=1 (1,1)=2 (2,2)=1 (2,0)=1.
        // IoU0 = 1/(2+2-1) = 1/3, IoU1 = 2/(3+2-2) = 2/3, IoU2 = 1/(1+2-1) = 1/2, mIoU = 1/2.
        // precision = [1/2; 2/3; 1], recall = [1/2; 1; 1/2].
        // fg IoU: gt fg = pixels 2..5, pred fg = pixels 1..4: TP 3, FP 1 (pixel 1), FN 1 (pixel 5) -> 3/5.
        // pixel accuracy 4/6.
        testCase "metrics match a hand-computed example" <| fun () ->
            let cm = ConfusionMatrix.ofLabels 3 [| 0; 0; 1; 1; 2; 2; 255 |] [| 0; 1; 1; 1; 2; 0; 2 |]
            let r = Metrics.evaluate VocSplit.Val Segmentation cm
            let expect (xs: float[]) (ys: float[]) = Array.iter2 (fun (x: float) y -> equalRounded 14 y x "y") xs ys
            expect [| 1.0 / 3.0; 2.0 / 3.0; 0.5 |] (Metrics.iou cm)
            expect [| 0.5; 2.0 / 3.0; 1.0 |] (Metrics.precision cm)
            expect [| 0.5; 1.0; 0.5 |] (Metrics.recall cm)
            equalRounded 14 r.MeanIoU 0.5 "r.MeanIoU"
            equalRounded 14 r.ForegroundIoU 0.6 "r.ForegroundIoU"
            equalRounded 14 r.PixelAccuracy (4.0 / 6.0) "r.PixelAccuracy"
            Expect.equal r.Split VocSplit.Val "r.Split"
            Expect.equal (ConfusionMatrix.total cm) 6L "ConfusionMatrix.total cm"
            Expect.equal (Metrics.describe r) "val segmentation: mIoU 50.00 fg-IoU 60.00 P 72.22 R 66.67 acc 66.67" "Metrics.describe r"

        // gt [1;1;0], pred [255;1;0]: class 1 has one unlabelled pixel -> recall 1/2, precision 1,
        // IoU 1/2; class 0 untouched (IoU 1); fg IoU 1/2.
        testCase "unlabelled predictions lower recall and IoU but not precision" <| fun () ->
            let cm = ConfusionMatrix.ofLabels 2 [| 1; 1; 0 |] [| 255; 1; 0 |]
            Expect.equal (Metrics.iou cm) [| 1.0; 0.5 |] "Metrics.iou cm"
            Expect.equal (Metrics.precision cm) [| 1.0; 1.0 |] "Metrics.precision cm"
            Expect.equal (Metrics.recall cm) [| 1.0; 0.5 |] "Metrics.recall cm"
            Expect.equal (Metrics.foregroundIoU cm) 0.5 "Metrics.foregroundIoU cm"

        testCase "bad labels are rejected with the offending value" <| fun () ->
            let e = throws<ArgumentException> (fun () -> ConfusionMatrix.ofLabels 3 [| 0; 7 |] [| 0; 0 |] |> ignore)
            Expect.stringContains e.Message "label 7 at pixel 1" "'label 7 at pixel 1'"
            throws<ArgumentException> (fun () -> ConfusionMatrix.ofLabels 3 [| 0 |] [| 0; 1 |] |> ignore) |> ignore

        property "a prediction equal to the ground truth scores 1" (
            Prop.forAll (Arb.fromGen labelArray) (fun (c, gt) ->
                let r = Metrics.evaluate VocSplit.Val Segmentation (ConfusionMatrix.ofLabels c gt gt)
                let hasFg = gt |> Array.exists (fun g -> g <> 0 && g <> 255)
                r.MeanIoU = 1.0 && r.PixelAccuracy = 1.0 && (not hasFg || r.ForegroundIoU = 1.0)))

        property "mIoU is invariant to relabelling classes consistently" (
            let gen = gen {
                let! c, gt = labelArray
                let! pred = predictionFor c gt
                let! perm = Gen.shuffle [| 0 .. c - 1 |]
                return c, gt, pred, perm
            }
            Prop.forAll (Arb.fromGen gen) (fun (c, gt, pred, perm) ->
                let relabel = Array.map (fun l -> if l = 255 then 255 else perm.[l])
                let before = ConfusionMatrix.ofLabels c gt pred
                let after = ConfusionMatrix.ofLabels c (relabel gt) (relabel pred)
                let iouBefore = Metrics.iou before
                let iouAfter = Metrics.iou after
                abs (Metrics.meanIoU before - Metrics.meanIoU after) < 1e-12
                && Seq.forall (fun k -> iouBefore.[k].Equals(iouAfter.[perm.[k]])) (seq { 0 .. c - 1 })))

        property "accumulating images equals scoring their concatenation" (
            let gen = gen {
                let! c, gt1 = labelArray
                let! n = Gen.choose (1, 100)
                let! gt2 = Gen.arrayOfLength n (Gen.choose (0, c - 1))
                let! p1 = predictionFor c gt1
                let! p2 = predictionFor c gt2
                return c, gt1, p1, gt2, p2
            }
            Prop.forAll (Arb.fromGen gen) (fun (c, gt1, p1, gt2, p2) ->
                let stepwise = ConfusionMatrix.empty c |> ConfusionMatrix.accumulate gt1 p1 |> ConfusionMatrix.accumulate gt2 p2
                let whole = ConfusionMatrix.ofLabels c (Array.append gt1 gt2) (Array.append p1 p2)
                let merged = ConfusionMatrix.merge (ConfusionMatrix.ofLabels c gt1 p1) (ConfusionMatrix.ofLabels c gt2 p2)
                stepwise = whole
                && merged = whole
                && ConfusionMatrix.total whole = int64 (Array.append gt1 gt2 |> Array.filter (fun g -> g <> 255)).Length))

        property "CAM seeds only use present classes" (
            let gen = Gen.map2 (fun cams t -> cams, t) (classMaps 3) (floatIn 0.0 1.0)
            Prop.forAll (Arb.fromGen gen) (fun (cams, t) ->
                ThresholdSweep.seeds t cams |> Array.forall (fun l -> l = 0 || Array.contains l cams.Classes)))

        property "the CAM sweep agrees with scoring seeds threshold by threshold and keeps the split" (
            let gen = gen {
                let! n = Gen.choose (1, 4)
                return! Gen.listOfLength n camsWithGt
            }
            Prop.forAll (Arb.fromGen gen) (fun images ->
                let thresholds = [ 0.1; 0.3; 0.5; 0.7 ]
                let swept = ThresholdSweep.sweepCams VocSplit.Train 21 thresholds images
                let direct t =
                    images
                    |> List.fold (fun cm (cams, gt) -> ConfusionMatrix.accumulate gt (ThresholdSweep.seeds t cams) cm) (ConfusionMatrix.empty 21)
                let key (p: SweepPoint) = if Double.IsNaN p.Result.MeanIoU then -infinity else p.Result.MeanIoU
                swept.Curve |> List.map (fun p -> p.Threshold) = thresholds
                && swept.Curve |> List.forall (fun p -> p.Result.Confusion = direct p.Threshold && p.Result.Split = VocSplit.Train)
                && swept.Curve |> List.forall (fun p -> key p <= key swept.Best)))

        // One 1x4 image of class 5 with activations [0.9; 0.6; 0.35; 0.1] and GT [5; 5; 0; 0]:
        // thresholds below 0.35 wrongly add pixel 2, thresholds >= 0.6 drop pixel 1, so every
        // threshold in [0.35, 0.6) is perfect and the sweep picks the lowest of them, 0.35.
        testCase "the sweep finds the threshold separating object and background" <| fun () ->
            let cams = ClassMaps.create 1 4 [| 5 |] [| 0.9; 0.6; 0.35; 0.1 |]
            let r = ThresholdSweep.sweepCams VocSplit.Val 6 ThresholdSweep.defaultThresholds [ cams, [| 5; 5; 0; 0 |] ]
            equalRounded 12 r.Best.Threshold 0.35 "r.Best.Threshold"
            Expect.equal r.Best.Result.MeanIoU 1.0 "r.Best.Result.MeanIoU"
            Expect.equal r.Curve.Length 19 "r.Curve.Length"
            Expect.equal r.Best.Result.Split VocSplit.Val "r.Best.Result.Split"
            Expect.equal r.Best.Result.Scored CamSeeds "r.Best.Result.Scored"

        testCase "segmentation given the image labels never predicts an absent class; the plain score does" <| fun () ->
            use scope = TorchSharp.torch.NewDisposeScope()
            // two 4x4 images, K = 3: image 0 holds class 1 (left half), image 1 class 3 (right
            // half); the network's logits rank class 2 (absent from both) first on the object,
            // the true class second, background third
            let masks = TorchSharp.torch.tensor(([| for b in 0 .. 1 do for i in 0 .. 15 -> if b = 0 then (if i % 4 < 2 then 1L else 0L) else (if i % 4 >= 2 then 3L else 0L) |] : int64[]), [| 2L; 4L; 4L |])
            let labels = TorchSharp.torch.tensor(([| 1.0f; 0.0f; 0.0f; 0.0f; 0.0f; 1.0f |] : float32[]), [| 2L; 3L |])
            let logitOf (b: int) (c: int) (i: int) =
                let onObject = if b = 0 then i % 4 < 2 else i % 4 >= 2
                let truth = if b = 0 then 1 else 3
                if not onObject then (if c = 0 then 5.0f else 0.0f)
                elif c = 2 then 3.0f elif c = truth then 2.0f elif c = 0 then 1.0f else 0.0f
            let values : float32[] = [| for b in 0 .. 1 do for c in 0 .. 3 do for i in 0 .. 15 -> logitOf b c i |]
            let logits = TorchSharp.torch.tensor(values, [| 2L; 4L; 4L; 4L |])           // (B, K + 1, H, W)
            let batch =
                { Ids = [| "a"; "b" |]; Images = TorchSharp.torch.zeros([| 2L; 3L; 4L; 4L |]); Labels = labels; Masks = Some masks
                  Saliency = None; Strong = None; Padding = None }
            let p : Hybrid.Wsss.Training.Predictor = { Cam = None; Segment = Some(fun _ -> logits.alias ()); Pseudo = None }
            let single = Hybrid.Wsss.Training.Evaluate.Scales.single
            let plain = Hybrid.Wsss.Training.Evaluate.segmentation VocSplit.Val 4 p single [ batch ]
            let given = Hybrid.Wsss.Training.Evaluate.segmentationGivenLabels VocSplit.Val 4 p single [ batch ]
            Expect.equal given.Scored SegmentationGivenLabels "scored as the diagnostic"
            Expect.floatClose Accuracy.veryHigh given.MeanIoU 1.0 "restricted to the image's classes every pixel is right"
            Expect.floatClose Accuracy.veryHigh plain.ForegroundIoU 1.0 "the plain score finds the objects ..."
            Expect.isLessThan plain.MeanIoU 0.5 "... but names them class 2, which neither image holds"

        testCase "the CRF score of segmentationScores is segmentationWith's with the CRF, named as such; the plain score is the CRF-free one" <| fun () ->
            use scope = TorchSharp.torch.NewDisposeScope()
            // one 16x16 image: left half bright (class 1), right half dark (background); the
            // logits are noisy so that the CRF's bilateral kernel changes some pixels
            TorchSharp.torch.manual_seed 5L |> ignore
            let side = 16L
            let left : TorchSharp.torch.Tensor = TorchSharp.torch.arange(side).lt(TorchSharp.Scalar.op_Implicit (side / 2L)).unsqueeze(0L).expand(side, side)     // (H, W)
            let masks = left.to_type(TorchSharp.torch.int64).unsqueeze(0)                                 // (1, H, W)
            let images = (left.to_type(TorchSharp.torch.float32) * 4.0 - 2.0).unsqueeze(0).unsqueeze(0).expand(1L, 3L, side, side).contiguous()
            let clean = TorchSharp.torch.stack([| left.logical_not().to_type(TorchSharp.torch.float32); left.to_type(TorchSharp.torch.float32) |]).unsqueeze(0) // (1, 2, H, W)
            let logits = clean * 2.0 + TorchSharp.torch.randn([| 1L; 2L; side; side |]) * 1.5
            let batch =
                { Ids = [| "a" |]; Images = images; Labels = TorchSharp.torch.ones([| 1L; 1L |]); Masks = Some masks
                  Saliency = None; Strong = None; Padding = None }
            let p : Hybrid.Wsss.Training.Predictor = { Cam = None; Segment = Some(fun _ -> logits.alias ()); Pseudo = None }
            let single = Hybrid.Wsss.Training.Evaluate.Scales.single
            let preset = Hybrid.Vision.CrfPreset.DeepLabLargeFov
            let scores = Hybrid.Wsss.Training.Evaluate.segmentationScores (Some preset) VocSplit.Val 2 p single [ batch ]
            let withCrf = Hybrid.Wsss.Training.Evaluate.segmentationWith (Some preset) VocSplit.Val 2 p single [ batch ]
            let plain = Hybrid.Wsss.Training.Evaluate.segmentation VocSplit.Val 2 p single [ batch ]
            Expect.equal scores.Crf.Value.Scored SegmentationCrf "scored as the CRF segmentation"
            Expect.floatClose Accuracy.veryHigh scores.Crf.Value.MeanIoU withCrf.MeanIoU "the same CRF as eval seg --crf"
            // the reference: the CRF applied to the softmax of the logits, argmax, scored
            let reference =
                let pred = (Hybrid.Wsss.Training.CrfRefine.refine preset images (logits.softmax(1L))).argmax(1L)
                let acc = ConfusionAccumulator(2)
                acc.Add(Host.values<int> masks, Host.values<int> pred)
                Metrics.evaluate VocSplit.Val SegmentationCrf (acc.Snapshot())
            Expect.floatClose Accuracy.veryHigh scores.Crf.Value.MeanIoU reference.MeanIoU "the CRF of the probabilities, argmax"
            Expect.floatClose Accuracy.veryHigh scores.Plain.MeanIoU plain.MeanIoU "the plain score is untouched"
            Expect.isGreaterThan scores.Crf.Value.MeanIoU scores.Plain.MeanIoU "the CRF cleans the noisy halves"
            Expect.isNone (Hybrid.Wsss.Training.Evaluate.segmentationScores None VocSplit.Val 2 p single [ batch ]).Crf "no CRF asked, none scored"
    ]
