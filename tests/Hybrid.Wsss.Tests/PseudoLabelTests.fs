module Hybrid.Wsss.Tests.PseudoLabelTests

open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss
open Hybrid.Wsss.Methods.AuxSegNetPlus
open Hybrid.Wsss.Tests.Generators
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

let private withSaliency: Gen<ClassMaps * float[]> = gen {
    let! cams = classMaps 3
    let! saliency = Gen.arrayOfLength (ClassMaps.pixels cams) confidence
    return cams, saliency

}

/// k x mean cuts: valid multipliers and maps with a few exact zeros.
let private meanCut: Gen<float * ClassMaps * float[]> = gen {
    let! k = Gen.elements [ 0.5; 1.0; 2.0; 3.0 ]
    let! cams = classMaps 3
    let! saliency = Gen.arrayOfLength (ClassMaps.pixels cams) (Gen.frequency [ 4, confidence; 1, Gen.constant 0.0 ])
    return k, cams, saliency

}

[<Tests>]
let tests =
    testList "PseudoLabel" [
        property "foreground only where both cues agree, ignore where exactly one fires" (
            Prop.forAll (Arb.fromGen withSaliency) (fun (cams, saliency) ->
                let labels = PseudoLabels.segmentation PseudoLabels.paper cams saliency
                let peak, _ = ClassMaps.peak cams
                Seq.forall
                    (fun p ->
                        let camFires = peak.[p] > 0.2
                        let salient = saliency.[p] >= 0.06
                        match labels.[p] with
                        | 255 -> camFires <> salient
                        | 0 -> not camFires && not salient
                        | l -> camFires && salient && Array.contains l cams.Classes)
                    (seq { 0 .. labels.Length - 1 })))

        property "foreground takes the strongest present class" (
            Prop.forAll (Arb.fromGen withSaliency) (fun (cams, saliency) ->
                let labels = PseudoLabels.segmentation PseudoLabels.paper cams saliency
                let peak, strongest = ClassMaps.peak cams
                Seq.forall (fun p -> labels.[p] = 0 || labels.[p] = 255 || (labels.[p] = strongest.[p] && peak.[p] > 0.2)) (seq { 0 .. labels.Length - 1 })))

        // 1x5 image, classes 3 and 7:
        //   pixel 0: cams (0.9, 0.3), saliency 0.5  -> both cues: class 3
        //   pixel 1: cams (0.1, 0.25), saliency 0.5 -> both cues: class 7 (0.25 > 0.2)
        //   pixel 2: cams (0.1, 0.2), saliency 0.5  -> CAM quiet (0.2 is not > 0.2), salient: ignore
        //   pixel 3: cams (0.8, 0.0), saliency 0.01 -> CAM fires, not salient: ignore
        //   pixel 4: cams (0.1, 0.1), saliency 0.06 -> salient (>= 0.06), CAM quiet: ignore
        // and a sixth case in a second image: cams 0.1, saliency 0.05 -> both quiet: background.
        testCase "pseudo labels match a hand-worked example" <| fun () ->
            let cams = ClassMaps.create 1 5 [| 3; 7 |] [| 0.9; 0.1; 0.1; 0.8; 0.1; 0.3; 0.25; 0.2; 0.0; 0.1 |]
            let labels = PseudoLabels.segmentation PseudoLabels.paper cams [| 0.5; 0.5; 0.5; 0.01; 0.06 |]
            Expect.equal labels [| 3; 7; 255; 255; 255 |] "labels"
            let quiet = ClassMaps.create 1 1 [| 2 |] [| 0.1 |]
            Expect.equal (PseudoLabels.segmentation PseudoLabels.paper quiet [| 0.05 |]) [| 0 |] "PseudoLabels.segmentation PseudoLabels.paper quiet [| 0.05 |]"
            throws<System.ArgumentException> (fun () -> PseudoLabels.segmentation PseudoLabels.paper quiet [| 0.1; 0.2 |] |> ignore)
            |> ignore

        property "the mean cut marks a pixel salient exactly when it exceeds k times its map's mean" (
            Prop.forAll (Arb.fromGen meanCut) (fun (k, cams, saliency) ->
                let labels = PseudoLabels.segmentation { Cam = 0.2; Saliency = TimesMean k } cams saliency
                let peak, _ = ClassMaps.peak cams
                let cut = k * (Array.sum saliency / float saliency.Length)
                Seq.forall
                    (fun p ->
                        let camFires = peak.[p] > 0.2
                        let salient = saliency.[p] > cut
                        match labels.[p] with
                        | 255 -> camFires <> salient
                        | 0 -> not camFires && not salient
                        | _ -> camFires && salient)
                    (seq { 0 .. labels.Length - 1 })))

        property "the mean cut does not change when the saliency map is rescaled" (
            // powers of two rescale exactly in floating point, so the law holds bit for bit
            Prop.forAll (Arb.fromGen (Gen.zip meanCut (Gen.elements [ 0.25; 0.5; 2.0; 8.0 ]))) (fun ((k, cams, saliency), scale) ->
                let rule = PseudoLabels.segmentation { Cam = 0.2; Saliency = TimesMean k } cams
                rule saliency = rule (saliency |> Array.map (fun s -> s * scale))))

        // 1x4 image, class 2 with CAM (0.9, 0.9, 0.1, 0.1), saliency (0.7, 0.3, 0.7, 0.1): mean 0.45.
        //   2 x mean = 0.9: nothing salient -> (ignore, ignore, background, background)
        //   1 x mean = 0.45: pixels 0 and 2 salient -> (class 2, ignore, ignore, background)
        //   the paper's fixed 0.06: every pixel salient -> (class 2, class 2, ignore, ignore)
        // and a map that is 0 everywhere has no salient pixel under any k.
        testCase "the mean cut matches a hand-worked example" <| fun () ->
            let cams = ClassMaps.create 1 4 [| 2 |] [| 0.9; 0.9; 0.1; 0.1 |]
            let sal = [| 0.7; 0.3; 0.7; 0.1 |]
            Expect.equal (PseudoLabels.segmentation { Cam = 0.2; Saliency = TimesMean 2.0 } cams sal) [| 255; 255; 0; 0 |] "PseudoLabels.segmentation { Cam = 0.2; Saliency = TimesMean 2.0 } cams sal"
            Expect.equal (PseudoLabels.segmentation { Cam = 0.2; Saliency = TimesMean 1.0 } cams sal) [| 2; 255; 255; 0 |] "PseudoLabels.segmentation { Cam = 0.2; Saliency = TimesMean 1.0 } cams sal"
            Expect.equal (PseudoLabels.segmentation PseudoLabels.paper cams sal) [| 2; 2; 255; 255 |] "PseudoLabels.segmentation PseudoLabels.paper cams sal"
            Expect.equal (PseudoLabels.segmentation PseudoLabels.classicalSaliency cams (Array.zeroCreate 4)) [| 255; 255; 0; 0 |] "PseudoLabels.segmentation PseudoLabels.classicalSaliency cams (Array.zeroCreate 4)"
    ]
