/// The loader: every index once per epoch, deterministic batches, pairing, errors from workers,
/// tensors of the documented shapes on the loader's device.
module Hybrid.Data.Tests.DataLoaderTests

open System
open System.IO
open Expecto
open TorchSharp
open Hybrid.Data
open Hybrid.Data.Tests.Checks

let private tinyDataset (dir: TempDir) (n: int) =
    let voc = TinyVoc(dir.Path)
    let ids = Array.init n (fun i -> $"s{i:D3}")
    for i in 0 .. n - 1 do
        voc.Add(ids[i], [| 0; 1 + i % 20 |])
    voc.Split("train", ids)
    VocReader.Read(VocOptions(dir.Path))

type private Loaders =
    static member Make(ds: SegmentationDataset, batch: int, ?dropLast: bool, ?seed: int64, ?workers: int, ?partner: PartnerSampler) =
        DataLoader(
            ds,
            Augmenter(AugmentationOptions.Train(8)),
            LoaderOptions(BatchSize = batch, DropLast = defaultArg dropLast false, Seed = defaultArg seed 1L, Workers = defaultArg workers 2),
            defaultArg partner null)

let private everyIndexOnce (workers: int) =
    testCase $"every index exactly once per epoch ({workers} workers)" (fun () ->
        use dir = new TempDir()
        let ds = tinyDataset dir 13
        let loader = Loaders.Make(ds, 4, workers = workers)
        Expect.equal loader.BatchesPerEpoch 4 "batches per epoch"
        for epoch in 0 .. 1 do
            let batches = loader.Epoch(epoch) |> List.ofSeq
            Expect.equal [ for b in batches -> b.Count ] [ 4; 4; 4; 1 ] $"epoch {epoch} batch sizes"
            Expect.equal (batches |> List.collect (fun b -> List.ofArray b.Indices) |> List.sort) [ 0 .. 12 ] $"epoch {epoch} indices")

let private indices (batches: seq<Batch>) = batches |> Seq.collect (fun b -> b.Indices) |> List.ofSeq

[<Tests>]
let tests =
    testList "DataLoader" [
        everyIndexOnce 0
        everyIndexOnce 2

        testCase "drop_last leaves out the partial batch" (fun () ->
            use dir = new TempDir()
            let ds = tinyDataset dir 13
            let batches = Loaders.Make(ds, 4, dropLast = true).Epoch(0) |> List.ofSeq
            Expect.equal batches.Length 3 "three batches"
            Expect.equal (indices batches |> List.distinct |> List.length) 12 "twelve distinct indices")

        testCase "order and augmentation are deterministic for a seed" (fun () ->
            use dir = new TempDir()
            let ds = tinyDataset dir 10
            let a = Loaders.Make(ds, 3, workers = 2).Epoch(1) |> List.ofSeq
            let b = Loaders.Make(ds, 3, workers = 0).Epoch(1) |> List.ofSeq
            Expect.equal (indices a) (indices b) "same order"
            for i in 0 .. a.Length - 1 do
                Expect.equal a[i].Images b[i].Images $"batch {i} images"
                Expect.equal a[i].Masks b[i].Masks $"batch {i} masks"
            let otherEpoch = Loaders.Make(ds, 3).Epoch(2) |> indices
            let otherSeed = Loaders.Make(ds, 3, seed = 2L).Epoch(1) |> indices
            Expect.notEqual (indices a) otherEpoch "another epoch"
            Expect.notEqual (indices a) otherSeed "another seed"
            let unshuffled = DataLoader(ds, Augmenter(AugmentationOptions.Eval), LoaderOptions(BatchSize = 4, Shuffle = false))
            Expect.equal (unshuffled.Epoch(0) |> indices) [ 0 .. 9 ] "unshuffled order")

        testCase "the pairing hook chooses each partner" (fun () ->
            use dir = new TempDir()
            let ds = tinyDataset dir 9
            let next = PartnerSampler(fun index epoch _ -> (index + 1 + epoch) % 9)
            let batches = Loaders.Make(ds, 4, partner = next).Epoch(1) |> List.ofSeq
            for b in batches do
                Expect.isNotNull b.Partners "partners"
                Expect.equal b.Partners.Indices (b.Indices |> Array.map (fun i -> (i + 2) % 9)) "partner indices"
                Expect.equal b.Partners.Images.Length b.Images.Length "partner images"
                for k in 0 .. b.Count - 1 do
                    Expect.equal b.Partners.Labels[k * 20 .. (k + 1) * 20 - 1] (ds.LabelVector(b.Partners.Indices[k])) $"partner {k} labels"
            let broken = PartnerSampler(fun _ _ _ -> 99)
            let ex = throws<InvalidOperationException> (fun () -> Loaders.Make(ds, 4, partner = broken).Epoch(0) |> List.ofSeq |> ignore)
            Expect.stringContains ex.Message "99" "names the bad partner")

        testCase "errors in workers reach the consumer and stopping early ends the workers" (fun () ->
            use dir = new TempDir()
            let ds = tinyDataset dir 12
            File.WriteAllBytes(ds[ds.Count - 1].ImagePath, [| 0xFFuy; 0xD8uy; 0xFFuy; 0x00uy |])
            let ex = throws<InvalidDataException> (fun () -> Loaders.Make(ds, 2).Epoch(0) |> List.ofSeq |> ignore)
            Expect.stringContains ex.Message (Path.GetFileName(ds[ds.Count - 1].ImagePath)) "names the file"
            // Taking one batch and leaving: the enumerator's disposal stops and joins the workers.
            use other = new TempDir()
            Expect.equal (Loaders.Make(tinyDataset other 8, 2).Epoch(0) |> Seq.truncate 1 |> Seq.length) 1 "one batch")

        testCase "batches become tensors of the documented shapes" (fun () ->
            use dir = new TempDir()
            let ds = tinyDataset dir 5
            let train = AugmentationOptions.Train(8)
            let strong =
                AugmentationOptions(Rescale = train.Rescale, CropSize = train.CropSize, HorizontalFlip = train.HorizontalFlip,
                                    Jitter = train.Jitter, Blur = train.Blur, Mean = train.Mean, Std = train.Std,
                                    Strong = StrongAugmentation())
            let batch = DataLoader(ds, Augmenter(strong), LoaderOptions(BatchSize = 5)).Epoch(0) |> Seq.exactlyOne
            use t = batch.ToTensors()
            Expect.equal t.Images.shape [| 5L; 3L; 8L; 8L |] "images (B, 3, H, W)"
            Expect.equal t.Masks.shape [| 5L; 8L; 8L |] "masks (B, H, W)"
            Expect.equal t.Masks.dtype torch.ScalarType.Int64 "masks int64"
            Expect.equal t.Labels.shape [| 5L; 20L |] "labels (B, K)"
            Expect.equal t.Strong.shape [| 5L; 3L; 8L; 8L |] "strong (B, 3, H, W)"
            Expect.isNull t.Saliency "no saliency"
            Expect.equal (t.Images.data<float32>().ToArray()) batch.Images "image values"
            Expect.equal (t.Masks.data<int64>().ToArray()) (batch.Masks |> Array.map int64) "mask values")

        testCase "batch tensors go to the loader's device and leave nothing behind" (fun () ->
            use dir = new TempDir()
            let ds = tinyDataset dir 4
            let next = PartnerSampler(fun index _ _ -> (index + 1) % 4)
            let options = LoaderOptions(BatchSize = 2, Workers = 0, Device = torch.CPU)
            let loader = DataLoader(ds, Augmenter(AugmentationOptions.Train(8)), options, next)
            Expect.equal loader.Device.``type`` DeviceType.CPU "the loader's device"
            Expect.equal (LoaderOptions().Device.``type``) DeviceType.CPU "CPU by default"
            let batches = loader.Epoch(0) |> List.ofSeq
            for b in batches do
                Expect.equal b.Device.``type`` DeviceType.CPU "the batch remembers the device"
            GC.Collect()
            GC.WaitForPendingFinalizers()
            let before = torch.Tensor.TotalCount
            for b in batches do
                use t = b.ToTensors(torch.CPU)
                for x in [ t.Images; t.Masks; t.Labels; t.Partners.Images; t.Partners.Masks ] do
                    Expect.equal x.device_type DeviceType.CPU "on the CPU"
            let mutable seen = 0
            for t in loader.TensorEpoch(0) do
                use t = t
                Expect.equal t.Images.shape [| 2L; 3L; 8L; 8L |] "tensor epoch images"
                seen <- seen + 1
            Expect.equal seen 2 "two tensor batches"
            Expect.equal torch.Tensor.TotalCount before "every tensor disposed with its batch")
    ]
