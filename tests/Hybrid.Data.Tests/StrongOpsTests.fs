/// The strong ops against PIL's own (Fixtures/pil_ops.txt, made by Fixtures/pil_ops.py with python3-pil 9.4.0).
module Hybrid.Data.Tests.StrongOpsTests

open System
open System.IO
open Expecto
open Hybrid.Data

let private W, H = 32, 16

let private input () =
    let chw = Array.zeroCreate<float32> (3 * W * H) // (3, H, W)
    for i in 0 .. W * H - 1 do
        chw[i] <- float32 ((i * i * 7 + 3) % 200)
        chw[W * H + i] <- float32 ((i * 53 % 256) / 2)
        chw[2 * W * H + i] <- float32 (255 - 2 * (i % 64))
    chw

let private reference (name: string) : byte[] =
    File.ReadAllLines(Fixtures.file "pil_ops.txt")
    |> Array.map (fun line -> line.Split(' '))
    |> Array.tryFind (fun parts -> parts[0] = name)
    |> function
        | Some parts -> Convert.FromHexString(parts[1])
        | None -> failwithf "no reference '%s'" name

let private matchesPil (name: string) (tolerance: int) =
    testCase $"{name} matches PIL within {tolerance}" (fun () ->
        let img = input ()
        let valid = Array.create (W * H) true
        match name with
        | "autocontrast" -> StrongOps.AutoContrast(img, valid)
        | "equalize" -> StrongOps.Equalize(img, valid)
        | "solarize128" -> StrongOps.Solarize(img, valid, 128.0f)
        | "posterize3" -> StrongOps.Posterize(img, valid, 3)
        | "sharpness1.7" -> StrongOps.Sharpness(img, valid, H, W, 1.7f)
        | "colour0.3" -> Photometric.Saturation(img, valid, 0.3f)
        | "contrast1.5" -> Photometric.Contrast(img, valid, 1.5f)
        | "brightness0.6" -> Photometric.Brightness(img, valid, 0.6f)
        | _ -> failwithf "unknown op %s" name
        let reference = reference name // (H, W, 3)
        let mutable worst = 0
        for i in 0 .. W * H - 1 do
            for c in 0 .. 2 do
                let ours = int (MathF.Round(img[c * W * H + i]))
                worst <- max worst (abs (ours - int reference[3 * i + c]))
        // Exact for the integer ops; PIL rounds its blends in 8-bit integer arithmetic, we keep floats.
        Expect.isTrue (worst <= tolerance) $"{name}: max difference to PIL {worst}")

[<Tests>]
let tests =
    testList "StrongOps" [
        matchesPil "autocontrast" 0
        matchesPil "equalize" 0
        matchesPil "solarize128" 0
        matchesPil "posterize3" 0
        matchesPil "sharpness1.7" 1
        matchesPil "colour0.3" 1
        matchesPil "contrast1.5" 1
        matchesPil "brightness0.6" 1

        testCase "padding is not touched" (fun () ->
            let img = input ()
            let valid = Array.init (W * H) (fun i -> i % 3 <> 0)
            let before = Array.copy img
            for op in Enum.GetValues<StrongOp>() do
                StrongOps.Apply(op, img, valid, H, W, 0.8, Rng(1UL))
            for i in 0 .. 3 .. W * H - 1 do
                for c in 0 .. 2 do
                    Expect.equal img[c * W * H + i] before[c * W * H + i] $"pixel {i} channel {c}")
    ]
