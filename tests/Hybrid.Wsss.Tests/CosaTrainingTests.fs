/// CoSA end to end on a tiny model (a micro ResNet, 32x32 inputs, batch 2, 3 classes): the
/// online / assignment streams, the gradient paths of the switches, and every Tab. 3
/// combination training with finite losses.
module Hybrid.Wsss.Tests.CosaTrainingTests

open System
open Expecto
open Hybrid.Wsss.Tests.SingleThread
open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Vision.Backbones
open Hybrid.Vision.Heads
open Hybrid.Wsss
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cosa
open Hybrid.Wsss.Tests.CosaTestKit
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

[<Tests>]
let tests =
    testList "CosaTraining" [
        testCase "with GC off the CAMs get no segmentation gradient" <| fun () ->
            singleThreaded <| fun () ->
                use scope = torch.NewDisposeScope()
                let cfg = { tiny with Guidance = NoGuidance; ContrastiveSeparation = false }
                use m = model cfg
                let meth, _ = Cosa.ofModel cfg m
                let losses = meth.Step (ctx 5) (batch 1L)
                Expect.isFalse (List.contains "s2c" (List.map fst losses)) "no s2c term with GC off"
                // every term but the classification ones: CAM2Seg of M' and M-dagger'
                let seg = losses |> List.filter (fun (n, _) -> not (n.StartsWith "cls")) |> List.map snd |> List.reduce (+)
                seg.backward ()
                let w = weightOf m.Online
                Expect.isTrue (isNull w.grad || w.grad.abs().sum().ToSingle() = 0.0f) "isNull w.grad || w.grad.abs().sum().ToSingle() = 0.0f"
                // ... while the segmentation head and the backbone did learn from them
                Expect.isTrue (m.Online.BackboneParameters |> List.exists (fun p -> not (isNull p.grad) && p.grad.abs().sum().ToSingle() > 0.0f)) "m.Online.BackboneParameters |> List.exists (fun p -> not (isNull p.grad) && p.grad.abs(..."

        testCase "with GC on the Seg2CAM term reaches W_fc, and the Tab. 4a detach cuts F or W_fc" <| fun () ->
            singleThreaded <| fun () ->
                let wGrad, bGrad, names = gradientsOf "s2c" { tiny with ContrastiveSeparation = false }
                Expect.contains names "s2c" "the s2c term"
                Expect.isTrue (wGrad.IsSome && wGrad.Value > 0.0f && bGrad > 0.0f) "wGrad.IsSome && wGrad.Value > 0.0f && bGrad > 0.0f"
                let wGrad, bGrad, _ = gradientsOf "s2c" { tiny with ContrastiveSeparation = false; Detach = CamDetach.Weights }
                Expect.isTrue ((wGrad |> Option.defaultValue 0.0f) = 0.0f && bGrad > 0.0f) "(wGrad |> Option.defaultValue 0.0f) = 0.0f && bGrad > 0.0f"
                let wGrad, bGrad, _ = gradientsOf "s2c" { tiny with ContrastiveSeparation = false; Detach = CamDetach.Features }
                Expect.isTrue (wGrad.IsSome && wGrad.Value > 0.0f && bGrad = 0.0f) "wGrad.IsSome && wGrad.Value > 0.0f && bGrad = 0.0f"

        testCase "the assignment network never receives gradients and follows the online one by EMA" <| fun () ->
            singleThreaded <| fun () ->
                use scope = torch.NewDisposeScope()
                // horizon 0.5 of the 10-step run (CosaTestKit.ctx): m = 1 - 1 / (0.5 * 10) = 0.8
                let cfg = { tiny with Momentum = HorizonFraction 0.5 }
                let mom = 0.8
                use m = model cfg
                let meth, _ = Cosa.ofModel cfg m
                use opt = Optimizer.AdamW(meth.Groups, 1e-3)
                let an = m.Assignment.named_parameters () |> Seq.map (fun struct (n, p) -> n, p) |> Seq.toList
                let on = m.Online.named_parameters () |> Seq.map (fun struct (n, p) -> n, p) |> Map.ofSeq
                for step in 0 .. 1 do
                    let before = an |> List.map (fun (n, p) -> n, p.detach().clone())
                    let losses = meth.Step (ctx step) (batch (int64 step))
                    opt.zero_grad ()
                    (losses |> List.map snd |> List.reduce (+)).backward ()
                    for _, p in an do
                        Expect.isFalse p.requires_grad "an assignment parameter requires no gradient"
                        Expect.isTrue (isNull p.grad) "an assignment parameter has no gradient"
                    opt.step ()
                    meth.AfterStep (ctx step)
                    // AN = m AN_before + (1 - m) ON_after, parameter by parameter
                    for (n, old), (_, now) in List.zip before an do
                        use expected = old * mom + on.[n].detach() * (1.0 - mom)
                        Expect.isTrue (now.allclose(expected, rtol = 1e-5, atol = 1e-6)) n
                Expect.equal m.Updates 2L "m.Updates"
                Expect.isFalse m.Assignment.training "the assignment network is in eval mode"   // eval mode whatever the model's mode
                m.train () |> ignore
                Expect.isFalse m.Assignment.training "m.Assignment.training"
                Expect.isTrue m.Online.training "m.Online.training"

        testCase "with SA off the targets come from the online network itself" <| fun () ->
            singleThreaded <| fun () ->
                use scope = torch.NewDisposeScope()
                use m = model tiny
                // make the two networks differ
                use _g = torch.no_grad ()
                for p in m.Assignment.parameters () do p.mul_((0.5).ToScalar()).add_((0.01).ToScalar()) |> ignore
                let b = batch 4L
                let camOf net = (Assignment.infer net [ 1.0 ] false b.Images b.Labels).Cam
                let onCam, anCam = camOf m.Online, camOf m.Assignment
                Expect.isFalse (onCam.allclose(anCam, atol = 1e-4)) "onCam.allclose(anCam, atol = 1e-4)"
                let targetsWith sa =
                    let cfg = { tiny with SwapAssignments = sa }
                    Cosa.assign cfg m (Cosa.CosaState cfg) b
                Expect.isTrue ((targetsWith false).Maps.Cam.allclose(onCam)) "(targetsWith false).Maps.Cam.allclose(onCam)"
                Expect.isTrue ((targetsWith true).Maps.Cam.allclose(anCam)) "(targetsWith true).Maps.Cam.allclose(anCam)"
                // the online network is back in training mode after serving as its own assigner
                Expect.isTrue m.Online.training "m.Online.training"

        testCase "the crop's padding gets no pseudo label, no guidance and no queued confidence" <| fun () ->
            singleThreaded <| fun () ->
                use scope = torch.NewDisposeScope()
                torch.manual_seed 5L |> ignore
                use m = model tiny
                // the right quarter of both images is padding (as a rescale below 1 leaves it)
                let padding = torch.tensor ([| for _ in 0 .. 1 do for i in 0 .. 1023 -> i % 32 >= 24 |], [| 2L; 32L; 32L |])
                let b = { batch 4L with Padding = Some padding }
                let state = Cosa.CosaState tiny
                let targets = Cosa.assign tiny m state b
                for name, cpl in [ "CPL", targets.Cpl; "auxiliary CPL", targets.AuxCpl; "pseudo masks", Cosa.pseudoMasks tiny m state b ] do
                    Expect.isTrue (cpl.eq(255.0).equal(padding).all().item<bool>()) $"{name}: 255 exactly on the padding"
                let target = (Cosa.guidanceTarget tiny 3L 4L 4L targets b).Value
                let valid = target.Valid.Value                                // (B, 1, 4, 4)
                Expect.equal (valid.sum().ToSingle()) (2.0f * 4.0f * 3.0f) "the SPL guidance counts only the 3 of 4 columns with content"
                Expect.equal (valid.narrow(3L, 3L, 1L).sum().ToSingle()) 0.0f "the padded column does not count"
                // the same batch without padding labels every pixel
                let unpadded = Cosa.assign tiny m (Cosa.CosaState tiny) (batch 4L)
                Expect.equal (unpadded.Cpl.eq(255.0).sum().item<int64>()) 0L "no ignore without padding"
                let losses = (fst (Cosa.ofModel tiny m)).Step (ctx 5) b
                for n, l in losses do Expect.isTrue (finite l) $"{n} finite with padding"

        testCase "before the warm-up ends only the classification terms are trained" <| fun () ->
            singleThreaded <| fun () ->
                use scope = torch.NewDisposeScope()
                let cfg = { tiny with Warmup = WarmupSteps 3 }
                use m = model cfg
                let meth, state = Cosa.ofModel cfg m
                Expect.equal (meth.Step (ctx 2) (batch 1L) |> List.map fst) [ "cls"; "cls_aux" ] "meth.Step (ctx 2) (batch 1L) |> List.map fst"
                Expect.equal state.Threshold.History.Count 0 "state.Threshold.History.Count"
                Expect.equal (meth.Step (ctx 3) (batch 1L) |> List.map fst) [ "cls"; "cls_aux"; "c2s"; "c2s_aux"; "s2c"; "csc" ] "meth.Step (ctx 3) (batch 1L) |> List.map fst"
                Expect.equal state.Threshold.History.Count 1 "state.Threshold.History.Count"

        testCase "the predictor gives CAM scores, segmentation logits and CPL pseudo masks" <| fun () ->
            singleThreaded <| fun () ->
                use scope = torch.NewDisposeScope()
                // the registry path: ON and AN on the CPU default backbone
                use m = Cosa.createModel registered tiny
                let meth, _ = Cosa.ofModel tiny m
                let b = batch 2L
                let cam = meth.Predict.Cam.Value b.Images
                let seg = meth.Predict.Segment.Value b.Images
                let pseudo = meth.Predict.Pseudo.Value b
                Expect.equal cam.shape [| 2L; 3L; 4L; 4L |] "cam.shape"         // tiny_resnet: output stride 8
                Expect.equal seg.shape [| 2L; 4L; 4L; 4L |] "seg.shape"
                Expect.equal pseudo.shape [| 2L; 32L; 32L |] "pseudo.shape"
                let v = longs pseudo
                // image 0 has classes 1 and 3, image 1 class 2
                Expect.isTrue (v.[.. 1023] |> Array.forall (fun l -> l = 0L || l = 1L || l = 3L)) "v.[.. 1023] |> Array.forall (fun l -> l = 0L || l = 1L || l = 3L)"
                Expect.isTrue (v.[1024 ..] |> Array.forall (fun l -> l = 0L || l = 2L)) "v.[1024 ..] |> Array.forall (fun l -> l = 0L || l = 2L)"
                Expect.isFalse cam.requires_grad "cam.requires_grad"

        testCase "ground-truth guidance trains and needs masks" <| fun () ->
            singleThreaded <| fun () ->
                use scope = torch.NewDisposeScope()
                let cfg = { tiny with Guidance = FromGroundTruth }
                use m = model cfg
                let meth, _ = Cosa.ofModel cfg m
                let losses = meth.Step (ctx 1) (batch 3L)
                Expect.isTrue (losses |> List.forall (snd >> finite)) "losses |> List.forall (snd >> finite)"
                let ex = throws<InvalidOperationException> (fun () -> meth.Step (ctx 1) { batch 3L with Masks = None } |> ignore)
                Expect.stringContains ex.Message "ground-truth masks" "'ground-truth masks'"

        testCase "settings parse and unknown keys list the valid ones" <| fun () ->
            let cfg =
                CosaConfig.defaults
                |> CosaConfig.set "gc" "false"
                |> CosaConfig.set "detach" "weights"
                |> CosaConfig.set "scales" "1.0,0.5"
                |> CosaConfig.set "dt" "off"
                |> CosaConfig.set "csc-form" "infonce"
            Expect.equal cfg.Guidance NoGuidance "cfg.Guidance"
            Expect.equal cfg.Detach CamDetach.Weights "cfg.Detach"
            Expect.equal cfg.PseudoScales [ 1.0; 0.5 ] "cfg.PseudoScales"
            Expect.isFalse cfg.DynamicThreshold "cfg.DynamicThreshold"
            Expect.equal cfg.SeparationForm SupervisedInfoNce "cfg.SeparationForm"
            let ex = throws<ArgumentException> (fun () -> CosaConfig.set "lambda" "1" cfg |> ignore)
            Expect.stringContains ex.Message "its settings: gc, guidance" "the keys are listed"
            Expect.stringContains ex.Message "csc-tau" "'csc-tau'"
            throws<ArgumentException> (fun () -> CosaConfig.set "threshold" "1.5" cfg |> ignore) |> ignore
            throws<ArgumentException> (fun () -> CosaConfig.set "guidance" "oracle" cfg |> ignore) |> ignore

        testCase "every Tab. 3 switch combination trains two steps with finite losses" <| fun () ->
            singleThreaded <| fun () ->
                let bools = [ false; true ]
                let combos = [ for gc in bools do for sa in bools do for raw in bools do for csc in bools do for dt in bools -> gc, sa, raw, csc, dt ]
                Expect.equal combos.Length 32 "combos.Length"
                for gc, sa, raw, csc, dt in combos do
                    use scope = torch.NewDisposeScope()
                    let cfg = CosaConfig.withSwitches gc sa raw csc dt tiny
                    use m = model cfg
                    let meth, state = Cosa.ofModel cfg m
                    let train = { TrainConfig.defaults 2 (Schedule.constant 1e-3) with Optimizer = AdamW 0.01; LogEvery = 1 }
                    let result = Train.run train meth (fun start -> Seq.initInfinite (fun i -> batch (int64 (start + i)))) ignore None
                    let names = result.FinalLosses |> List.map fst |> set
                    let label = sprintf "GC=%b SA=%b RAW=%b CSC=%b DT=%b" gc sa raw csc dt
                    Expect.isTrue (result.FinalLosses |> List.forall (fun (_, v) -> not (Double.IsNaN v || Double.IsInfinity v))) label
                    Expect.equal (names.Contains "s2c") gc "names.Contains 's2c'"
                    Expect.equal (names.Contains "csc") csc "names.Contains 'csc'"
                    Expect.isTrue (names.Contains "c2s" && names.Contains "c2s_aux") label
                    Expect.equal state.Threshold.History.Count 2 "state.Threshold.History.Count"

        testCase "CoSA-MS trains CoSA, then a segmentation network on its CPL" <| fun () ->
            singleThreaded <| fun () ->
                use scope = torch.NewDisposeScope()
                let env = { registered with Steps = 2 }
                let out = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hybrid-cosa-ms-" + System.Guid.NewGuid().ToString("N"))
                let train = { TrainConfig.defaults 2 (Schedule.constant 1e-3) with Optimizer = AdamW 0.01; LogEvery = 1; OutDir = Some out }
                let log = ResizeArray<string>()
                let seen = ResizeArray<int list>()
                let ctx: RunContext =
                    { Env = env
                      Config = train
                      Batches = fun start -> Seq.initInfinite (fun i -> batch (int64 (start + i)))
                      BatchesOf = fun _ -> failwith "CoSA-MS trains on its own CPL, not on another dataset"
                      ValBatches = fun () -> Seq.empty
                      OnProgress = fun p -> seen.Add(p.Losses |> List.map (fun (n, _) -> n.Length))
                      Log = log.Add }
                let sets = [ "warmup", "0"; "scales", "1.0"; "flip", "false"; "head-hidden", "8"; "seg.head", "cosa"; "ms-steps", "3" ]
                let m = CosaMs.train ctx sets
                Expect.equal m.Name "cosa-ms" "m.Name"
                Expect.equal (SettingsTable.build CosaMs.table sets).SegmentationSteps (Some 3) "ms-steps=3 resolves to 3 stage-2 steps"
                Expect.equal log.Count 2 "log.Count"
                // 2 CoSA steps then 3 segmentation steps were reported
                Expect.equal seen.Count 5 "seen.Count"
                let b = batch 9L
                Expect.equal ((m.Predict.Segment.Value b.Images).shape) [| 2L; 4L; 4L; 4L |] "(m.Predict.Segment.Value b.Images).shape"
                Expect.equal ((m.Predict.Pseudo.Value b).shape) [| 2L; 32L; 32L |] "(m.Predict.Pseudo.Value b).shape"
                // stage 2's network is the run's checkpoint, at the root where `--run` restores it from
                Expect.isTrue (System.IO.File.Exists(Train.checkpointPath out)) "the final network's checkpoint is at the run's root"
                Expect.isTrue (System.IO.File.Exists(Train.checkpointPath (System.IO.Path.Combine(out, "cosa")))) "stage 1 keeps its own"
                System.IO.Directory.Delete(out, true)
                let ex = throws<ArgumentException> (fun () -> CosaMs.set "ms-steps" "0" CosaMs.defaults |> ignore)
                Expect.stringContains ex.Message "ms-steps" "'ms-steps'"
    ]
