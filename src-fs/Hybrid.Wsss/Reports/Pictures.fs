/// Pictures where people look: each row shows an image beside its GT, CAM heatmap, seeds,
/// pseudo mask and segmentation (whatever the method has), as RGB PNGs.
module Hybrid.Wsss.Reports.Pictures

open System
open Hybrid.Data

let private palette = VocPalette.Create 256

/// Label map (H*W ints, 255 = ignore) as RGB bytes with the VOC palette (ignore: white).
let colourLabels (labels: int[]) : byte[] =
    let out = Array.zeroCreate<byte> (labels.Length * 3)
    for i in 0 .. labels.Length - 1 do
        let l = labels[i]
        if l = 255 then out[3 * i] <- 255uy; out[3 * i + 1] <- 255uy; out[3 * i + 2] <- 255uy
        else
            let c = (l % 256) * 3
            out[3 * i] <- palette[c]; out[3 * i + 1] <- palette[c + 1]; out[3 * i + 2] <- palette[c + 2]
    out

/// A [0, 1] map (H*W) as a blue-to-red heatmap blended over the RGB image.
let heatmap (rgb: byte[]) (map: float32[]) : byte[] =
    let out = Array.zeroCreate<byte> rgb.Length
    for i in 0 .. map.Length - 1 do
        let v = float (Math.Clamp(map[i], 0.0f, 1.0f))
        // jet-like ramp: blue -> cyan -> yellow -> red
        let r = Math.Clamp(1.5 - abs (4.0 * v - 3.0), 0.0, 1.0)
        let g = Math.Clamp(1.5 - abs (4.0 * v - 2.0), 0.0, 1.0)
        let b = Math.Clamp(1.5 - abs (4.0 * v - 1.0), 0.0, 1.0)
        for c, h in [ 0, r; 1, g; 2, b ] do
            out[3 * i + c] <- byte (0.5 * float rgb[3 * i + c] + 0.5 * 255.0 * h)
    out

/// Label colours blended over the image (segmentation overlays).
let overlay (rgb: byte[]) (labels: int[]) : byte[] =
    let col = colourLabels labels
    Array.init rgb.Length (fun i -> if labels[i / 3] = 0 then rgb[i] else byte ((int rgb[i] + int col[i]) / 2))

/// Panels (each H*W*3 RGB) side by side with a 2-pixel white gap, written as a PNG.
let writeRow (path: string) (height: int) (width: int) (panels: byte[] list) =
    let n = List.length panels
    let gap = 2
    let totalW = n * width + (n - 1) * gap
    let pixels = Array.create (height * totalW * 3) 255uy
    panels |> List.iteri (fun k p ->
        for y in 0 .. height - 1 do
            Buffer.BlockCopy(p, y * width * 3, pixels, (y * totalW + k * (width + gap)) * 3, width * 3))
    IO.Directory.CreateDirectory(IO.Path.GetDirectoryName(IO.Path.GetFullPath path)) |> ignore
    ImageIO.WritePng(path, Image(totalW, height, 3, pixels))

/// Undoes the normalisation of an image (3, H, W) to RGB bytes (H, W, 3).
let denormalise (chw: float32[]) (height: int) (width: int) (mean: float32[]) (std: float32[]) : byte[] =
    let plane = height * width
    Array.init (plane * 3) (fun i ->
        let p, c = i / 3, i % 3
        byte (Math.Clamp(MathF.Round((chw[c * plane + p] * std[c] + mean[c]) * 255.0f), 0.0f, 255.0f)))
