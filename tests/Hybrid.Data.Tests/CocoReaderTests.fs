/// Reading COCO: labels from the instances JSON, masks from class-index PNGs, one error for all problems.
module Hybrid.Data.Tests.CocoReaderTests

open System.IO
open System.Text.Json
open Expecto
open Hybrid.Data
open Hybrid.Data.Tests.Checks

// The 80 category ids of COCO 2014 (1..90 with gaps), as in instances_train2014.json.
let private cocoIds =
    [| 1; 2; 3; 4; 5; 6; 7; 8; 9; 10; 11; 13; 14; 15; 16; 17; 18; 19; 20; 21; 22; 23; 24; 25; 27; 28
       31; 32; 33; 34; 35; 36; 37; 38; 39; 40; 41; 42; 43; 44; 46; 47; 48; 49; 50; 51; 52; 53; 54; 55
       56; 57; 58; 59; 60; 61; 62; 63; 64; 65; 67; 70; 72; 73; 74; 75; 76; 77; 78; 79; 80; 81; 82; 84
       85; 86; 87; 88; 89; 90 |]

let private writeSet (dir: TempDir) (images: obj[]) (annotations: obj[]) (writeMasks: bool) =
    Directory.CreateDirectory(dir["images"]) |> ignore
    Directory.CreateDirectory(dir["masks"]) |> ignore
    let categories = cocoIds |> Array.map (fun id -> {| id = id; name = $"cat{id}"; supercategory = "x" |})
    let json = {| images = images; annotations = annotations; categories = categories |}
    File.WriteAllText(dir["instances.json"], JsonSerializer.Serialize(json))
    for im in images do
        let file = JsonSerializer.SerializeToElement(im).GetProperty("file_name").GetString()
        ImageIO.WriteJpeg(Path.Combine(dir["images"], file), Image(6, 4, 3, Array.zeroCreate 72))
        if writeMasks then
            let m = Array.zeroCreate<byte> 24
            m[5] <- 80uy
            m[6] <- 255uy
            ImageIO.WritePng(Path.Combine(dir["masks"], Path.ChangeExtension(file, ".png")), Image(6, 4, 1, m))

[<Tests>]
let tests =
    testList "CocoReader" [
        testCase "labels from the instances JSON and masks from PNGs" (fun () ->
            use dir = new TempDir()
            writeSet dir
                [| box {| id = 42; file_name = "COCO_train2014_000000000042.jpg"; width = 6; height = 4 |}
                   box {| id = 7; file_name = "COCO_train2014_000000000007.jpg"; width = 6; height = 4 |}
                   box {| id = 9; file_name = "COCO_train2014_000000000009.jpg"; width = 6; height = 4 |} |]
                [| box {| id = 1; image_id = 42; category_id = 90; bbox = [| 0; 0; 1; 1 |]; iscrowd = 0 |}
                   box {| id = 2; image_id = 42; category_id = 1; bbox = [| 0; 0; 1; 1 |]; iscrowd = 0 |}
                   box {| id = 3; image_id = 42; category_id = 1; bbox = [| 0; 0; 1; 1 |]; iscrowd = 0 |}
                   box {| id = 4; image_id = 7; category_id = 13; bbox = [| 0; 0; 1; 1 |]; iscrowd = 1 |} |]
                true

            let ds = CocoReader.Read(CocoOptions(dir["instances.json"], dir["images"], MaskFolder = dir["masks"]))
            Expect.equal ds.NumClasses 81 "81 classes"
            Expect.equal ds.ClassNames[80] "cat90" "last class"
            Expect.equal ds.ClassNames[12] "cat13" "id 12 is one of COCO's gaps"
            // image 9 has no annotation and is skipped; ordered by image id
            Expect.equal [ for s in ds.Samples -> s.Id ] [ "COCO_train2014_000000000007"; "COCO_train2014_000000000042" ] "ids"
            Expect.equal (List.ofSeq ds[0].Classes) [ 12 ] "labels of 7"
            Expect.equal (List.ofSeq ds[1].Classes) [ 1; 80 ] "labels of 42"
            let loaded = ds.Load(1)
            Expect.equal loaded.Mask.Pixels[5] 80uy "mask value"
            Expect.equal (ds.LabelVector(1).Length) 80 "label vector length"

            let all = CocoReader.Read(CocoOptions(dir["instances.json"], dir["images"], SkipUnlabelled = false))
            Expect.equal all.Count 3 "unlabelled kept")

        testCase "missing files and unknown categories are one error" (fun () ->
            use dir = new TempDir()
            writeSet dir
                [| box {| id = 1; file_name = "a.jpg" |}; box {| id = 2; file_name = "b.jpg" |} |]
                [| box {| image_id = 1; category_id = 12 |} // 12 is not a COCO category
                   box {| image_id = 2; category_id = 5 |}
                   box {| image_id = 3; category_id = 5 |} |] // image 3 is not listed
                false
            File.Delete(dir["images/b.jpg"])
            let ex = throws<DatasetException> (fun () ->
                CocoReader.Read(CocoOptions(dir["instances.json"], dir["images"], MaskFolder = dir["masks"])) |> ignore)
            Expect.stringContains ex.Message "category id 12" "unknown category"
            Expect.stringContains ex.Message "image id 3" "unlisted image"
            Expect.stringContains ex.Message "b.jpg is missing" "missing image"
            Expect.stringContains ex.Message "b: mask" "missing mask"
            Expect.equal ex.Problems.Count 4 "four problems")

        testCase "invalid JSON is a clear error" (fun () ->
            use dir = new TempDir()
            Directory.CreateDirectory(dir["images"]) |> ignore
            File.WriteAllText(dir["instances.json"], "{ \"images\": [ {\"id\": 1, ")
            let ex = throws<InvalidDataException> (fun () -> CocoReader.Read(CocoOptions(dir["instances.json"], dir["images"])) |> ignore)
            Expect.stringContains ex.Message "instances.json" "names the file")
    ]
