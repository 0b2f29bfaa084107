/// The training augmentation: geometry shared exactly by image, mask, saliency and strong view.
module Hybrid.Data.Tests.AugmentationTests

open System
open System.Collections.Generic
open Expecto
open Hybrid.Data
open Hybrid.Data.Tests.Checks

// Colour of each class in the synthetic pattern: the mask can be read back from the image.
let private colours = [| [| 128uy; 128uy; 128uy |]; [| 250uy; 20uy; 20uy |]; [| 20uy; 20uy; 250uy |] |]

/// A w x h scene of axis-aligned blocks of classes 1 and 2 on class 0, with matching mask and saliency.
let private pattern (w: int) (h: int) : LoadedSample =
    let rgb = Array.zeroCreate<byte> (w * h * 3)
    let mask = Array.zeroCreate<byte> (w * h)
    let sal = Array.zeroCreate<byte> (w * h)
    for y in 0 .. h - 1 do
        for x in 0 .. w - 1 do
            let c = if (x / 9 + y / 7) % 3 = 0 then 0 elif x < w / 2 then 1 else 2
            mask[y * w + x] <- byte c
            sal[y * w + x] <- if c = 0 then 0uy else 255uy
            colours[c].CopyTo(rgb, (y * w + x) * 3)
    let sample = SegmentationSample("p", "p.jpg", "p.png", "s.png", [| 1; 2 |])
    LoadedSample(sample, Image(w, h, 3, rgb), Image(w, h, 1, mask), Image(w, h, 1, sal))

/// The class whose colour is nearest to the (de-normalised) pixel.
let private classOf (a: AugmentedSample) (o: AugmentationOptions) (i: int) =
    let plane = a.Height * a.Width
    let mutable best = -1
    let mutable bestD = Double.MaxValue
    for k in 0 .. colours.Length - 1 do
        let mutable d = 0.0
        for c in 0 .. 2 do
            let v = float ((a.Image[c * plane + i] * o.Std[c] + o.Mean[c]) * 255.0f)
            d <- d + (v - float (colours[k][c])) * (v - float (colours[k][c]))
        if d < bestD then
            bestD <- d
            best <- k
    best

/// A copy of `o` with some options replaced (C#'s `with` on the record).
type private Change =
    static member Of(o: AugmentationOptions, ?jitter: ColourJitter, ?noJitter: bool, ?blur: GaussianBlurOptions, ?strong: StrongAugmentation) =
        AugmentationOptions(
            Rescale = o.Rescale,
            CropSize = o.CropSize,
            HorizontalFlip = o.HorizontalFlip,
            Jitter = (if defaultArg noJitter false then null else defaultArg jitter o.Jitter),
            Blur = defaultArg blur o.Blur,
            Mean = o.Mean,
            Std = o.Std,
            Strong = defaultArg strong o.Strong)

let private interior (mask: byte[]) (w: int) (h: int) (i: int) =
    let x, y = i % w, i / w
    seq {
        for dy in -1 .. 1 do
            for dx in -1 .. 1 do
                let xx, yy = x + dx, y + dy
                xx >= 0 && yy >= 0 && xx < w && yy < h && mask[yy * w + xx] = mask[i]
    }
    |> Seq.forall id

[<Tests>]
let tests =
    testList "Augmentation" [
        testCase "crop and flip keep image and mask exactly aligned" (fun () ->
            let o = AugmentationOptions(CropSize = Nullable 40, HorizontalFlip = true)
            let aug = Augmenter(o)
            let sample = pattern 57 33 // crop wider than tall side: pads vertically, crops horizontally
            let mutable flips = 0
            for seed in 0 .. 19 do
                let a = aug.Apply(sample, 0, Rng(uint64 seed))
                if a.Geometry.Flip then flips <- flips + 1
                for i in 0 .. a.Mask.Length - 1 do
                    if a.Mask[i] <> MaskIO.Ignore then
                        Expect.equal (int a.Mask[i]) (classOf a o i) $"seed {seed} pixel {i}: class"
                        equalRounded 3 (if a.Mask[i] = 0uy then 0.0 else 1.0) (float a.Saliency[i]) $"seed {seed} pixel {i}: saliency"
            inRange flips 3 17 "flips")

        testCase "rescale keeps image and mask aligned except at block edges" (fun () ->
            let o = AugmentationOptions(Rescale = Rescale.Factor(0.6, 1.7), CropSize = Nullable 48)
            let aug = Augmenter(o)
            let sample = pattern 64 48
            let mutable agree, agreeMirrored, total = 0L, 0L, 0L
            for seed in 0 .. 19 do
                let a = aug.Apply(sample, 0, Rng(uint64 seed))
                for i in 0 .. a.Mask.Length - 1 do
                    let x = i % a.Width
                    let mirrored = i - x + a.Width - 1 - x
                    if a.Mask[i] <> MaskIO.Ignore && a.Mask[mirrored] <> MaskIO.Ignore then
                        total <- total + 1L
                        let seen = classOf a o i
                        if int a.Mask[i] = seen then agree <- agree + 1L
                        if int a.Mask[mirrored] = seen then agreeMirrored <- agreeMirrored + 1L
            // Bilinear image vs nearest mask differ only on a one-pixel band along block edges.
            Expect.isTrue (float agree > 0.95 * float total) $"agreement {agree}/{total}"
            // The criterion can fail: a mask that missed the flip (mirrored) agrees far less.
            Expect.isTrue (float agreeMirrored < 0.8 * float total) $"mirrored agreement {agreeMirrored}/{total}")

        testCase "padding is ignore in masks, zero in images and saliency" (fun () ->
            let o = AugmentationOptions(CropSize = Nullable 32, HorizontalFlip = false)
            let a = Augmenter(o).Apply(pattern 20 12, 0, Rng(4UL))
            let mask = a.Mask
            let ignore = mask |> Array.filter (fun v -> v = MaskIO.Ignore) |> Array.length
            Expect.equal ignore (32 * 32 - 20 * 12) "padding pixels"
            let plane = 32 * 32
            for i in 0 .. plane - 1 do
                if a.Mask[i] = MaskIO.Ignore then
                    for c in 0 .. 2 do
                        Expect.equal a.Image[c * plane + i] 0.0f $"image channel {c} at {i}"
                    Expect.equal a.Saliency[i] 0.0f $"saliency at {i}"
            // the padding mask marks exactly those pixels (the mask has no ignore inside the image)
            Expect.equal a.Padding (a.Mask |> Array.map (fun v -> v = MaskIO.Ignore)) "Padding = the padded pixels"
            // and a batch carries it as a (B, H, W) bool tensor
            let batch = Batch.Collate([| a; a |], [| [| 1f; 1f |]; [| 1f; 1f |] |])
            use t = batch.ToTensors()
            Expect.equal t.Padding.shape [| 2L; 32L; 32L |] "(B, H, W)"
            Expect.equal (t.Padding.sum().item<int64>()) (int64 (2 * (32 * 32 - 20 * 12))) "padded pixels of both images")

        testCase "same seed, same output; different seed, different output" (fun () ->
            let o = Change.Of(AugmentationOptions.Train(40), blur = GaussianBlurOptions(0.5, 0.1, 1.5), strong = StrongAugmentation())
            let aug = Augmenter(o)
            let s = pattern 50 45
            let a = aug.Apply(s, 0, Rng.For(9L, 1UL, 3L))
            let b = aug.Apply(s, 0, Rng.For(9L, 1UL, 3L))
            let c = aug.Apply(s, 0, Rng.For(9L, 1UL, 4L))
            Expect.equal a.Image b.Image "image"
            Expect.equal a.Strong b.Strong "strong view"
            Expect.equal a.Mask b.Mask "mask"
            Expect.equal a.Geometry b.Geometry "geometry"
            Expect.notEqual a.Image c.Image "another seed")

        testCase "strong and weak views share geometry" (fun () ->
            // Pointwise strong ops keep the partition of a two-level image: pixels equal in the weak
            // view stay equal in the strong one, so both views must show the same blocks in the same place.
            let pointwise = Enum.GetValues<StrongOp>() |> Array.filter (fun op -> op <> StrongOp.Sharpness)
            let o =
                AugmentationOptions(
                    Rescale = Rescale.Factor(0.8, 1.4),
                    CropSize = Nullable 36,
                    Strong = StrongAugmentation(OpsPerImage = 3, MaxMagnitude = 0.9, Ops = pointwise))
            let aug = Augmenter(o)
            let sample = pattern 48 40
            for seed in 0 .. 9 do
                let a = aug.Apply(sample, 0, Rng(uint64 seed))
                let plane = a.Height * a.Width
                // For each mask class, the strong view's pixels deep inside blocks of that class share one colour.
                let colourOf = Dictionary<int, float32 * float32 * float32>()
                for i in 0 .. plane - 1 do
                    let cls = int a.Mask[i]
                    if cls <> int MaskIO.Ignore && interior a.Mask a.Width a.Height i then
                        let v = (a.Strong[i], a.Strong[plane + i], a.Strong[2 * plane + i])
                        if not (colourOf.TryAdd(cls, v)) then
                            let (u1, u2, u3), (v1, v2, v3) = colourOf[cls], v
                            equalRounded 3 (float u1) (float v1) $"seed {seed} class {cls} R"
                            equalRounded 3 (float u2) (float v2) $"seed {seed} class {cls} G"
                            equalRounded 3 (float u3) (float v3) $"seed {seed} class {cls} B"

            // With no strong ops and no jitter, the strong view is the weak view.
            let identity = Augmenter(Change.Of(o, strong = StrongAugmentation(OpsPerImage = 0)))
            let same = identity.Apply(sample, 0, Rng(3UL))
            Expect.equal same.Image same.Strong "strong = weak")

        testCase "long-side rescale hits the range" (fun () ->
            let o = AugmentationOptions(Rescale = Rescale.LongSide(30, 40), HorizontalFlip = false)
            let aug = Augmenter(o)
            for seed in 0 .. 9 do
                let a = aug.Apply(pattern 60 24, 0, Rng(uint64 seed))
                inRange a.Width 30 40 $"seed {seed} width"
                inRange a.Height 11 17 $"seed {seed} height")

        testCase "jitter changes colours but not padding" (fun () ->
            let o = AugmentationOptions(CropSize = Nullable 30, HorizontalFlip = false, Jitter = ColourJitter(0.4, 0.4, 0.4, 0.1))
            let plain = Augmenter(Change.Of(o, noJitter = true)).Apply(pattern 24 24, 0, Rng(8UL))
            let jittered = Augmenter(o).Apply(pattern 24 24, 0, Rng(8UL))
            Expect.equal plain.Geometry jittered.Geometry "same geometry"
            Expect.notEqual plain.Image jittered.Image "colours changed"
            let plane = 30 * 30
            for i in 0 .. plane - 1 do
                if jittered.Mask[i] = MaskIO.Ignore then Expect.equal jittered.Image[i] 0.0f $"padding at {i}")

        testCase "invalid options are rejected" (fun () ->
            throws<ArgumentException> (fun () -> Augmenter(AugmentationOptions(Rescale = Rescale.Factor(2.0, 1.0))) |> ignore) |> ignore
            throws<ArgumentException> (fun () -> Augmenter(AugmentationOptions(Std = [| 1.0f; 0.0f; 1.0f |])) |> ignore) |> ignore)
    ]
