/// CSD's pairing and pastes on a tiny generated FMNIST-Scenes set: who gets a partner, which
/// classes can be drawn, pasted labels, consistency masks, stage-1 masks and their transport.
module Hybrid.Wsss.Tests.CsdPasteTests

open System
open Expecto
open Hybrid.Wsss.Tests.SingleThread
open TorchSharp
open Hybrid.Data
open Hybrid.Wsss
open Hybrid.Wsss.Methods.Csd
open Hybrid.Wsss.Tests.CsdFixture
open Hybrid.TestSupport.Expectations
open Hybrid.Wsss.Tests.TensorValues

let private subset (a: bool[]) (b: bool[]) = Array.forall2 (fun x y -> not x || y) a b

[<Tests>]
let tests =
    testList "CsdPaste" [
        testCase "only multi-label images get partners, and resampled classes co-occur with the target's" <| fun () ->
            let ds = trainSet ()
            let sets = PartnerSource.labelSets ds
            let src = partnerSource ds CooccurrenceResampling
            let n = Cooccurrence.counts ImagesWithClass (ds.NumClasses - 1) sets
            let mutable drawn = 0
            for step in 0 .. 30 do
                for i in 0 .. ds.Count - 1 do
                    match PartnerSource.draw src step (i % batchSize) i with
                    | None ->
                        // only single-label images, and images none of whose classes co-occurs with a
                        // pasteable class, go without a partner
                        Expect.isTrue (sets[i].Length = 1 || (Resampler.distribution src.Resampler sets[i]).IsNone) ($"image {i} with classes %A{sets[i]} got no partner")
                    | Some d ->
                        drawn <- drawn + 1
                        Expect.isTrue (sets[i].Length >= 2) "a single-label image is never augmented"
                        Expect.equal (sets[d.Image]) [| d.Class |] "sets[d.Image]"
                        Expect.isTrue (sets[i] |> Array.exists (fun k -> n[k][d.Class] > 0L)) ($"class {d.Class} never co-occurs with %A{sets[i]}")
            Expect.isTrue (drawn > 0) "drawn > 0"

        testCase "draws are a function of seed, step and slot" <| fun () ->
            let ds = trainSet ()
            let a = partnerSource ds UniformSource
            let b = { a with Seed = 1L }
            let sets = PartnerSource.labelSets ds
            let targets = [ for i in 0 .. ds.Count - 1 do if sets[i].Length > 1 then yield i ]
            let draws (s: PartnerSource) = [ for step in 0 .. 20 do for i in targets -> PartnerSource.draw s step 1 i ]
            Expect.equal (draws a) (draws a) "draws a"
            Expect.notEqual (draws b) (draws a) "draws b"

        testCase "pasted labels are unions and consistency masks lie inside the pasted region" <| fun () ->
            singleThreaded (fun () ->
                let ds = trainSet ()
                let src = partnerSource ds CooccurrenceResampling
                let mutable pairs = 0
                for feather in [ 0; 2 ] do
                    let cfg = { CsdConfig.defaults with FeatherRadius = feather }
                    for step, batch in batches ds 0 |> Seq.take 8 |> Seq.indexed do
                        use _scope = torch.NewDisposeScope()
                        for p in CsdMethod.pastes cfg src step batch do
                            pairs <- pairs + 1
                            let target = floats (batch.Labels.select(0L, int64 p.Slot))
                            let union = Array.map2 max target p.Partner.Labels
                            Expect.equal (floats p.Foreground.Labels) union "floats p.Foreground.Labels"
                            let fgMask, fgRegion = bools p.Foreground.ForegroundMask, bools p.Foreground.PastedMask
                            Expect.isTrue (subset fgMask fgRegion) "L_fg's pixels lie inside the pasted region"
                            // a hard paste always shows the object (a feathered edge can hide a thin one)
                            if feather = 0 then Expect.isTrue (Array.exists id fgMask) "the pasted object is visible"
                            // the L_fg pixels are the partner's stage-1 foreground moved by the placement
                            let fgSource = (SourceMask.toTensor SourceMask.Foreground torch.CPU p.Partner.Mask).to_type(ScalarType.Float32)
                            let moved = bools (p.Foreground.ToResultFrame(fgSource, 0.0).gt(0.5))
                            Expect.isTrue (subset fgMask moved) "subset fgMask moved"
                            if feather = 0 then
                                Expect.equal fgMask moved "fgMask"
                                // hard paste: the pasted pixels are the partner's
                                let partner = torch.tensor (p.Partner.Image, [| 3L; int64 p.Partner.Height; int64 p.Partner.Width |])
                                let shown = p.Foreground.ToResultFrame(partner, 0.0) * p.Foreground.ForegroundMask.to_type(ScalarType.Float32)
                                let image = p.Foreground.Image * p.Foreground.ForegroundMask.to_type(ScalarType.Float32)
                                Expect.isTrue ((shown - image).abs().max().ToSingle() < 1e-6f) "(shown - image).abs().max().ToSingle() < 1e-6f"
                            match p.Background, p.BackgroundRegion with
                            | Some bg, Some region ->
                                Expect.equal (floats bg.Labels) target "floats bg.Labels"
                                let r = bools region
                                Expect.isTrue (subset r (bools bg.PastedMask)) "L_bg's pixels lie inside the pasted region"
                                Expect.isTrue (subset r (bools bg.BackgroundMask)) "subset r (bools bg.BackgroundMask)"
                                Expect.isFalse (Array.exists2 (&&) r fgMask) "background and foreground regions are disjoint"
                                Expect.equal bg.Placement p.Foreground.Placement "bg.Placement"
                            | None, None -> Expect.isFalse (SourceMask.hasBackgroundToPaste cfg.BackgroundWindow p.Partner.Mask) "SourceMask.hasBackgroundToPaste cfg.BackgroundWindow p.Partner.Mask"
                            | _ -> failwith "a background view comes with its region"
                Expect.isTrue (pairs > 4) ($"only {pairs} pairs were pasted"))

        testCase "source masks follow the loader geometry and padding is unreliable" <| fun () ->
            let m = { Width = 4; Height = 2; Pixels = [| 0uy; 1uy; 1uy; 0uy; 255uy; 1uy; 0uy; 0uy |] }
            // flip, then a 6-wide crop starting one pixel left of the image (pads both sides)
            let g = Geometry(4, 2, 1.0, 1.0, -1, 0, 6, 2, true)
            let moved = SourceMask.transform g m
            Expect.equal moved.Width 6 "moved.Width"
            Expect.equal moved.Pixels [| 255uy; 0uy; 1uy; 1uy; 0uy; 255uy; 255uy; 0uy; 0uy; 1uy; 255uy; 255uy |] "moved.Pixels"
            Expect.equal (SourceMask.foregroundPixels moved) 3 "SourceMask.foregroundPixels moved"
            throws<ArgumentException> (fun () -> SourceMask.transform (Geometry.Identity(3, 2)) m |> ignore) |> ignore

        testCase "masks from CAMs and pseudo labels" <| fun () ->
            let cam = SourceMask.ofCam 0.3f 3 1 [| 0.1f; 0.31f; 0.3f |]
            Expect.equal cam.Pixels [| 0uy; 1uy; 0uy |] "cam.Pixels"
            let pseudo = SourceMask.ofPseudo 4 1 [| 0L; 3L; 255L; 1L |]
            Expect.equal pseudo.Pixels [| 0uy; 1uy; 255uy; 1uy |] "pseudo.Pixels"
            throws<ArgumentException> (fun () -> SourceMask.ofCam 0.3f 2 2 [| 0.0f |] |> ignore) |> ignore
            // background to paste: none when the object fills its window
            let full = { Width = 3; Height = 3; Pixels = [| 0uy; 0uy; 0uy; 0uy; 1uy; 0uy; 0uy; 0uy; 0uy |] }
            Expect.isTrue (SourceMask.hasBackgroundToPaste None full) "SourceMask.hasBackgroundToPaste None full"
            Expect.isFalse (SourceMask.hasBackgroundToPaste (Some 0) full) "SourceMask.hasBackgroundToPaste (Some 0) full"
            Expect.isTrue (SourceMask.hasBackgroundToPaste (Some 1) full) "SourceMask.hasBackgroundToPaste (Some 1) full"
            Expect.isFalse (SourceMask.hasBackgroundToPaste None { full with Pixels = Array.create 9 0uy }) "SourceMask.hasBackgroundToPaste None { full with Pixels = Array.create 9 0uy }"
    ]
