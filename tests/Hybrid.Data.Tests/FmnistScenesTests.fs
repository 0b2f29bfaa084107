/// FMNIST-Scenes: byte-identical generation, VOC layout read back, label statistics, saliency,
/// and the Fashion-MNIST IDX reader.
module Hybrid.Data.Tests.FmnistScenesTests

open System
open System.IO
open System.Security.Cryptography
open Expecto
open Hybrid.Data
open Hybrid.Data.Tests.Checks

/// FmnistScenesOptions for the tests (what C#'s `with` on the record did: unset options keep their defaults).
type private Scenes =
    static member Options(outDir: string, fmnist: string, train: int, ?valCount: int, ?size: int, ?seed: int64, ?workers: int,
                          ?single: float, ?strength: float, ?noSaliency: bool) =
        let d = FmnistScenesOptions(outDir)
        FmnistScenesOptions(
            outDir,
            FashionMnistDir = fmnist,
            Train = train,
            Val = defaultArg valCount 0,
            Size = defaultArg size 48,
            Seed = defaultArg seed d.Seed,
            Workers = (match workers with Some w -> Nullable w | None -> d.Workers),
            SingleItemFraction = defaultArg single d.SingleItemFraction,
            CooccurrenceStrength = defaultArg strength d.CooccurrenceStrength,
            Saliency = (if defaultArg noSaliency false then Nullable() else d.Saliency))

let private hashTree (root: string) : Map<string, string> =
    Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
    |> Seq.map (fun f -> Path.GetRelativePath(root, f), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes f)))
    |> Map.ofSeq

let private labelDraws (single: float) (strength: float) =
    testCase $"label draws follow the fractions of the options (single {single}, strength {strength})" (fun () ->
        use dir = new TempDir()
        FakeFashionMnist.writeDefault dir["fmnist"]
        let options = Scenes.Options(dir["out"], dir["fmnist"], 1, single = single, strength = strength)
        let composer = SceneComposer(options, FashionMnist.Load(FashionMnistSplit.Train, dir["fmnist"]))
        let partners = options.Partners()
        let draws = Array.init 20000 (fun i -> composer.DrawLabels(Rng.For(3L, 9UL, int64 i)))
        let pairs = draws |> Array.filter (fun d -> d.Length = 2)
        let count f (xs: 'a[]) = xs |> Array.filter f |> Array.length
        // Binomial standard errors: single 0.0035, three-of-multi < 0.008, partner < 0.015.
        inRange (float (count (fun (d: int[]) -> d.Length = 1) draws) / 20000.0) (single - 0.015) (single + 0.015) "single-item fraction"
        inRange (float (count (fun (d: int[]) -> d.Length = 3) draws) / float (count (fun (d: int[]) -> d.Length > 1) draws)) 0.37 0.43 "three-item fraction"
        inRange (float (count (fun (p: int[]) -> partners[p[0]] = p[1]) pairs) / float pairs.Length) (strength - 0.05) (strength + 0.05) "partner fraction"
        for d in draws do
            Expect.equal (Array.distinct d).Length d.Length "labels of one draw are distinct"
        // Every class is drawn first about equally often (uniform).
        for _, g in draws |> Array.groupBy (fun d -> d[0]) do
            inRange g.Length 1700 2300 "first-label count")

[<Tests>]
let tests =
    testList "FmnistScenes" [
        testCase "the same seed gives byte-identical files whatever the worker count" (fun () ->
            use dir = new TempDir()
            FakeFashionMnist.writeDefault dir["fmnist"]
            FmnistScenes.Generate(Scenes.Options(dir["a"], dir["fmnist"], 24, 8, seed = 5L, workers = 1)) |> ignore
            FmnistScenes.Generate(Scenes.Options(dir["b"], dir["fmnist"], 24, 8, seed = 5L, workers = 2)) |> ignore
            FmnistScenes.Generate(Scenes.Options(dir["c"], dir["fmnist"], 24, 8, seed = 6L)) |> ignore
            let a = hashTree dir["a"]
            let b = hashTree dir["b"]
            let c = hashTree dir["c"]
            Expect.equal a.Count (24 * 4 + 8 * 4 + 4) "jpg, png, xml, saliency per image + 2 lists, classes, manifest"
            Expect.equal a b "1 and 2 workers"
            Expect.notEqual a["JPEGImages/train_000000.jpg"] c["JPEGImages/train_000000.jpg"] "another seed"

            // Regenerating into an earlier output replaces it, byte for byte.
            FmnistScenes.Generate(Scenes.Options(dir["a"], dir["fmnist"], 24, 8, seed = 5L)) |> ignore
            Expect.equal (hashTree dir["a"]) b "regenerated")

        testCase "reads back through the VOC reader with mask classes equal to labels" (fun () ->
            use dir = new TempDir()
            FakeFashionMnist.writeDefault dir["fmnist"]
            let report = FmnistScenes.Generate(Scenes.Options(dir["out"], dir["fmnist"], 60, 20))
            for split in [ VocSplit.Train; VocSplit.Val ] do
                // DisagreementPolicy.Fail: the XML labels and the mask classes must be the same sets.
                let ds = VocReader.Read(VocOptions(dir["out"], Split = split, OnDisagreement = DisagreementPolicy.Fail))
                Expect.equal (List.ofSeq ds.ClassNames) (List.ofSeq FmnistScenes.ClassNames) "class names"
                Expect.equal ds.Count (if split = VocSplit.Train then 60 else 20) $"{split} count"
                Expect.isTrue (ds.HasMasks && ds.HasSaliency) "masks and saliency"
                for i in 0 .. ds.Count - 1 do
                    let s = ds.Load(i)
                    Expect.equal (s.Image.Width, s.Image.Height, s.Image.Channels) (48, 48, 3) "image size"
                    Expect.equal (MaskIO.Classes(s.Mask.Pixels, ds.NumClasses)) (Array.ofSeq ds[i].Classes) "mask classes = labels"
                    inRange ds[i].Classes.Count 1 3 "one to three items"
            Expect.equal report.DroppedItems 0 "nothing dropped")

        labelDraws 0.4 0.6
        labelDraws 0.8 0.1

        testCase "generated files show the single-item and co-occurrence fractions" (fun () ->
            use dir = new TempDir()
            FakeFashionMnist.writeDefault dir["fmnist"]
            let options = Scenes.Options(dir["out"], dir["fmnist"], 300, size = 40, noSaliency = true)
            let report = FmnistScenes.Generate(options)
            let ds = VocReader.Read(VocOptions(dir["out"], CheckAgreement = false))
            let partners = options.Partners()
            let counts = [| for s in ds.Samples -> s.Classes.Count |]
            let singleFraction = float (counts |> Array.filter (fun c -> c = 1) |> Array.length) / float counts.Length
            let pairs = [| for s in ds.Samples do if s.Classes.Count = 2 then s |]
            let partnerFraction =
                float (pairs |> Array.filter (fun p -> partners[p.Classes[0] - 1] = p.Classes[1] - 1) |> Array.length) / float pairs.Length

            Expect.equal report.DroppedItems 0 "so that label counts are item counts"
            // 3 binomial standard errors: single 0.085 (n = 300); partner 0.15 (about 100 two-item images).
            inRange singleFraction (0.4 - 0.085) (0.4 + 0.085) "single-item fraction"
            inRange partnerFraction (0.6 - 0.15) (0.6 + 0.15) "partner fraction"
            equalRounded 6 singleFraction report.SingleItemFraction "reported single-item fraction"
            equalRounded 6 partnerFraction report.PartnerPairFraction "reported partner fraction")

        testCase "saliency is higher inside objects than outside" (fun () ->
            use dir = new TempDir()
            FakeFashionMnist.writeDefault dir["fmnist"]
            FmnistScenes.Generate(Scenes.Options(dir["out"], dir["fmnist"], 40, size = 64)) |> ignore
            let ds = VocReader.Read(VocOptions(dir["out"]))
            let mutable inside, outside = 0.0, 0.0
            let mutable nIn, nOut = 0L, 0L
            for i in 0 .. ds.Count - 1 do
                let s = ds.Load(i)
                for p in 0 .. s.Mask.Pixels.Length - 1 do
                    if s.Mask.Pixels[p] > 0uy then
                        inside <- inside + float s.Saliency.Pixels[p]
                        nIn <- nIn + 1L
                    else
                        outside <- outside + float s.Saliency.Pixels[p]
                        nOut <- nOut + 1L
            let meanIn, meanOut = inside / float nIn, outside / float nOut
            Expect.isTrue (meanIn > 1.5 * meanOut) $"inside {meanIn:F1}, outside {meanOut:F1}")

        testCase "train scenes use train items and val scenes test items" (fun () ->
            use dir = new TempDir()
            FakeFashionMnist.writeDefault dir["fmnist"]
            File.Delete(dir["fmnist/t10k-images-idx3-ubyte"])
            // Train only: the test split is never opened.
            FmnistScenes.Generate(Scenes.Options(dir["out"], dir["fmnist"], 5, 0)) |> ignore
            // Val needs the test split, and says which file is missing.
            let ex = throws<FileNotFoundException> (fun () -> FmnistScenes.Generate(Scenes.Options(dir["out2"], dir["fmnist"], 0, 5)) |> ignore)
            Expect.stringContains ex.Message "t10k-images-idx3-ubyte" "names the missing file")

        testCase "refuses a non-empty foreign folder and a missing Fashion-MNIST" (fun () ->
            use dir = new TempDir()
            FakeFashionMnist.writeDefault dir["fmnist"]
            Directory.CreateDirectory(dir["mine"]) |> ignore
            File.WriteAllText(dir["mine/thesis.tex"], "precious")
            let ex = throws<IOException> (fun () -> FmnistScenes.Generate(Scenes.Options(dir["mine"], dir["fmnist"], 2)) |> ignore)
            Expect.stringContains ex.Message "not empty" "says why"
            Expect.isTrue (File.Exists(dir["mine/thesis.tex"])) "the foreign file is kept"

            let missing = throws<FileNotFoundException> (fun () -> FmnistScenes.Generate(Scenes.Options(dir["o"], dir["nowhere"], 2)) |> ignore)
            Expect.stringContains missing.Message "dataset-fashion-mnist" "names the Debian package"
            Expect.stringContains missing.Message FashionMnist.EnvironmentVariable "names the variable")

        testCase "invalid options name the problem" (fun () ->
            let ex = throws<ArgumentException> (fun () -> FmnistScenesOptions("x", SingleItemFraction = 1.5).Validate())
            Expect.stringContains ex.Message "single-item" "names the option"
            throws<ArgumentException> (fun () -> FmnistScenesOptions("x", CooccurringPairs = [| struct (0, 1); struct (1, 2) |]).Validate()) |> ignore)

        testCase "Fashion-MNIST reads plain and gzipped IDX" (fun () ->
            use dir = new TempDir()
            FakeFashionMnist.write dir.Path 3 2
            let train = FashionMnist.Load(FashionMnistSplit.Train, dir.Path) // gzipped
            let test = FashionMnist.Load(FashionMnistSplit.Test, dir.Path) // plain
            Expect.equal train.Count 30 "train items"
            Expect.equal test.Count 20 "test items"
            Expect.equal train.Labels[17] 7uy "a label"
            inRange (train.Image(0)[13 * 28 + 13]) 240uy 255uy "the ellipse centre"
            Expect.equal (train.Image(0)[0]) 0uy "the corner"
            for idx in train.IndicesByClass() do
                Expect.equal idx.Length 3 "items per class")

        testCase "a truncated IDX is an error" (fun () ->
            use dir = new TempDir()
            FakeFashionMnist.writeIdx dir["x-idx1-ubyte"] (Array.zeroCreate 10) [| 12 |] false
            let ex = throws<InvalidDataException> (fun () -> FashionMnist.ReadIdx(dir["x-idx1-ubyte"]) |> ignore)
            Expect.stringContains ex.Message "truncated" "says truncated"
            File.WriteAllBytes(dir["y"], [| 1uy; 2uy; 3uy; 4uy; 5uy |])
            throws<InvalidDataException> (fun () -> FashionMnist.ReadIdx(dir["y"]) |> ignore) |> ignore)
    ]
