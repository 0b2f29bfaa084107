/// Reading VOC-layout datasets: labels, masks, saliency, and problems gathered into one error.
module Hybrid.Data.Tests.VocReaderTests

open System.IO
open Expecto
open Hybrid.Data
open Hybrid.Data.Tests.Checks

[<Tests>]
let tests =
    testList "VocReader" [
        testCase "reads images, masks, labels and saliency" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            voc.Add("a", [| 0; 8; 15 |]) // cat, person
            voc.Add("b", [| 12 |]) // dog
            voc.Split("train", "a", "b")
            Directory.CreateDirectory(dir["saliency"]) |> ignore
            for id in [ "a"; "b" ] do
                ImageIO.WritePng(dir[$"saliency/{id}.png"], Image(8, 6, 1, Array.zeroCreate 48))

            let ds = VocReader.Read(VocOptions(dir.Path))
            Expect.equal ds.NumClasses 21 "VOC classes"
            Expect.equal [ for s in ds.Samples -> s.Id ] [ "a"; "b" ] "ids"
            Expect.equal (List.ofSeq ds[0].Classes) [ 8; 15 ] "labels of a"
            Expect.equal (List.ofSeq ds[1].Classes) [ 12 ] "labels of b"
            Expect.isEmpty ds.Disagreements "no disagreements"
            Expect.isTrue ds.HasMasks "masks"
            Expect.isTrue ds.HasSaliency "saliency"
            let v = ds.LabelVector(0)
            Expect.equal v.Length 20 "label vector length"
            Expect.equal (Array.sum v) 2.0f "two labels"
            Expect.equal v[8 - 1] 1.0f "cat"

            let loaded = ds.Load(0)
            Expect.equal loaded.Image.Channels 3 "RGB image"
            Expect.equal loaded.Mask[0, 0] MaskIO.Ignore "border row is ignore"
            Expect.equal loaded.Mask[5, 7] 15uy "band of class 15"
            Expect.isNotNull loaded.Saliency "saliency loaded")

        testCase "a class list file overrides the VOC names" (fun () ->
            use dir = new TempDir()
            let names = [| "background"; "shirt"; "bag" |]
            let voc = TinyVoc(dir.Path, names)
            ClassList.Write(dir.Path, names)
            voc.Add("x", [| 2 |])
            voc.Split("val", "x")
            let ds = VocReader.Read(VocOptions(dir.Path, Split = VocSplit.Val))
            Expect.equal (Array.ofSeq ds.ClassNames) names "class names"
            Expect.equal (List.ofSeq ds[0].Classes) [ 2 ] "labels"
            Expect.equal (ds.LabelVector(0)) [| 0.0f; 1.0f |] "label vector")

        testCase "missing files give one error with the first few and the count" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            let ids = Array.init 9 (fun i -> $"img{i}")
            for i in 0 .. ids.Length - 1 do
                voc.Add(ids[i], [| 1 |], image = (i % 3 <> 0), mask = (i <> 4))
            voc.Split("train", ids)
            let ex = throws<DatasetException> (fun () -> VocReader.Read(VocOptions(dir.Path)) |> ignore)
            // images 0, 3, 6 and mask 4 are missing
            Expect.equal ex.Problems.Count 4 "four problems"
            Expect.stringContains ex.Message "4 problems" "the count"
            Expect.stringContains ex.Message "img0: image JPEGImages/img0.jpg is missing" "a missing image"
            Expect.stringContains ex.Message "img4: mask SegmentationClass/img4.png is missing" "a missing mask")

        testCase "many problems are counted, not all printed" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            let ids = Array.init 12 (fun i -> $"m{i:D2}")
            voc.Split("train", ids) // no files at all: 12 images and 12 masks missing
            let ex = throws<DatasetException> (fun () -> VocReader.Read(VocOptions(dir.Path)) |> ignore)
            Expect.equal ex.Problems.Count 24 "24 problems"
            Expect.stringContains ex.Message "24 problems" "the count"
            Expect.stringContains ex.Message "... and 19 more" "the rest counted")

        testCase "disagreements are reported or fail" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            voc.Add("ok", [| 3 |])
            voc.Add("odd", [| 3; 7 |], xmlNames = [| "bird"; "dog" |]) // mask: bird, car; xml: bird, dog
            voc.Split("train", "ok", "odd")

            let ds = VocReader.Read(VocOptions(dir.Path))
            Expect.equal ds.Disagreements.Count 1 "one disagreement"
            let d = ds.Disagreements[0]
            Expect.equal d.Id "odd" "which image"
            Expect.equal (List.ofSeq d.OnlyInAnnotation) [ 12 ] "annotation only"
            Expect.equal (List.ofSeq d.OnlyInMask) [ 7 ] "mask only"
            Expect.equal (List.ofSeq ds[1].Classes) [ 3; 12 ] "annotation labels by default"
            Expect.stringContains (d.Describe(ds.ClassNames)) "annotation-only [dog]" "described"

            let fromMasks = VocReader.Read(VocOptions(dir.Path, Labels = LabelSource.Masks))
            Expect.equal (List.ofSeq fromMasks[1].Classes) [ 3; 7 ] "mask labels"

            let ex = throws<DatasetException> (fun () ->
                VocReader.Read(VocOptions(dir.Path, OnDisagreement = DisagreementPolicy.Fail)) |> ignore)
            Expect.stringContains ex.Message "odd" "names the image")

        testCase "labels come from masks when there is no annotation" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            voc.Add("n", [| 0; 5 |], xml = false)
            voc.Split("train", "n")
            let ds = VocReader.Read(VocOptions(dir.Path))
            Expect.equal (List.ofSeq ds[0].Classes) [ 5 ] "mask labels")

        testCase "unknown classes and bad mask values are problems" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            voc.Add("u", [| 1 |], xmlNames = [| "unicorn" |])
            voc.Add("v", [| 1; 40 |], xmlNames = [| "aeroplane" |]) // 40 is not a VOC class
            voc.Split("train", "u", "v")
            let ex = throws<DatasetException> (fun () -> VocReader.Read(VocOptions(dir.Path)) |> ignore)
            Expect.stringContains ex.Message "unknown class 'unicorn'" "unknown name"
            Expect.stringContains ex.Message "value 40" "bad mask value")

        testCase "a missing split list names what exists" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            voc.Add("a", [| 1 |])
            voc.Split("train", "a")
            let ex = throws<DatasetException> (fun () -> VocReader.Read(VocOptions(dir.Path, Split = VocSplit.TrainAug)) |> ignore)
            Expect.stringContains ex.Message "train_aug.txt" "the missing list"
            Expect.stringContains ex.Message "present: train.txt" "what exists")

        testCase "train_aug uses SegmentationClassAug" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            voc.Add("s", [| 2 |], maskFolder = "SegmentationClassAug")
            voc.Split("train_aug", "s")
            let ds = VocReader.Read(VocOptions(dir.Path, Split = VocSplit.TrainAug))
            Expect.stringContains ds[0].MaskPath "SegmentationClassAug" "mask folder")

        testCase "a size mismatch between image and mask is an error naming both" (fun () ->
            use dir = new TempDir()
            let voc = TinyVoc(dir.Path)
            voc.Add("z", [| 1 |])
            ImageIO.WriteJpeg(dir["JPEGImages/z.jpg"], Image(9, 6, 3, Array.zeroCreate (9 * 6 * 3)))
            voc.Split("train", "z")
            let ds = VocReader.Read(VocOptions(dir.Path))
            let ex = throws<InvalidDataException> (fun () -> ds.Load(0) |> ignore)
            Expect.stringContains ex.Message "z.png" "names the mask"
            Expect.stringContains ex.Message "z.jpg" "names the image")
    ]
