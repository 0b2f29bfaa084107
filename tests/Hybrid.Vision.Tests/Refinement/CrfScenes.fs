/// Tiny synthetic images and class maps for the CRF tests, and CrfParams built from F#.
module Hybrid.Vision.Tests.CrfScenes

open System
open Expecto
open Hybrid.Vision

/// A CrfParams with every field given.
let crf (iterations: int) (posW: float) (posXyStd: float) (biW: float) (biXyStd: float) (biRgbStd: float) =
    CrfParams(Iterations = iterations, PosW = posW, PosXyStd = posXyStd, BiW = biW, BiXyStd = biXyStd, BiRgbStd = biRgbStd)

/// `p with { Iterations = n }`.
let withIterations (n: int) (p: CrfParams) = crf n p.PosW p.PosXyStd p.BiW p.BiXyStd p.BiRgbStd

/// Three regions (left half red, top-right green, bottom-right blue) with uniform RGB noise of
/// +-25, and class probabilities (C, H, W) that favour the region's class by a margin of 0.8
/// over uniform noise. Returns the image (H, W, 3) and the probabilities.
let threeRegions (h: int) (w: int) (classes: int) (seed: int) : byte[] * float32[] =
    let rng = Random seed
    let n = h * w
    let rgb = Array.zeroCreate<byte> (n * 3)
    let probs = Array.zeroCreate<float32> (classes * n)
    let colours = [| [| 200; 40; 40 |]; [| 40; 180; 60 |]; [| 50; 60; 190 |] |]
    let p = Array.zeroCreate<float> classes
    for y in 0 .. h - 1 do
        for x in 0 .. w - 1 do
            let i = y * w + x
            let region = if x < w / 2 then 0 elif y < h / 2 then 1 else 2
            for c in 0 .. 2 do
                rgb[3 * i + c] <- byte (Math.Clamp(colours[region][c] + rng.Next(-25, 26), 0, 255))
            let mutable sum = 0.0
            for c in 0 .. classes - 1 do
                p[c] <- rng.NextDouble() + (if c = region % classes then 0.8 else 0.0)
                sum <- sum + p[c]
            for c in 0 .. classes - 1 do probs[c * n + i] <- float32 (p[c] / sum)
    rgb, probs

/// Max |a - b| and mean |a - b|.
let absDiff (a: float32[]) (b: float32[]) : float * float =
    Expect.equal a.Length b.Length "lengths"
    let mutable mx = 0.0
    let mutable sum = 0.0
    for i in 0 .. a.Length - 1 do
        let d = abs (float a[i] - float b[i])
        mx <- max mx d
        sum <- sum + d
    mx, sum / float a.Length

/// ||a - reference|| / ||reference||.
let relL2 (a: float32[]) (reference: float32[]) : float =
    Expect.equal a.Length reference.Length "lengths"
    let mutable num = 0.0
    let mutable den = 0.0
    for i in 0 .. a.Length - 1 do
        let d = float a[i] - float reference[i]
        num <- num + d * d
        den <- den + float reference[i] * float reference[i]
    sqrt (num / den)

/// Number of 4-neighbour pixel pairs with different labels.
let labelChanges (labels: int[]) (h: int) (w: int) : int =
    let mutable changes = 0
    for y in 0 .. h - 1 do
        for x in 0 .. w - 1 do
            let i = y * w + x
            if x + 1 < w && labels[i] <> labels[i + 1] then changes <- changes + 1
            if y + 1 < h && labels[i] <> labels[i + w] then changes <- changes + 1
    changes
