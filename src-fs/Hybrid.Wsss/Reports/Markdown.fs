/// Result tables as Markdown (every table states the split and the output scored).
module Hybrid.Wsss.Reports.Markdown

open System
open System.Globalization
open Hybrid.Data
open Hybrid.Wsss.Eval

let private pct (v: float) = if Double.IsNaN v then "-" else (100.0 * v).ToString("F1", CultureInfo.InvariantCulture)

let private f2 (v: float) = v.ToString("F2", CultureInfo.InvariantCulture)

/// One line summary: "CAM seeds on val: mIoU 31.2 (fg IoU 55.0)".
let summary (r: EvalResult) =
    $"{Scored.name r.Scored} on {VocReader.SplitFileName r.Split}: mIoU {pct r.MeanIoU}, foreground IoU {pct r.ForegroundIoU}, precision {pct r.MeanPrecision}, recall {pct r.MeanRecall}"

/// Per-class IoU, precision and recall.
let perClass (classNames: string[]) (r: EvalResult) =
    let name c = if c < classNames.Length then classNames[c] else string c
    let rows =
        r.PerClass
        |> Array.map (fun s -> $"| {name s.Class} | {pct s.IoU} | {pct s.Precision} | {pct s.Recall} |")
        |> String.concat "\n"
    $"**{Scored.name r.Scored}** (split: {VocReader.SplitFileName r.Split}) — mIoU **{pct r.MeanIoU}**, foreground IoU {pct r.ForegroundIoU}\n\n| class | IoU | precision | recall |\n|---|---|---|---|\n{rows}\n| **mean** | **{pct r.MeanIoU}** | {pct r.MeanPrecision} | {pct r.MeanRecall} |\n"

/// The background-threshold sweep as a table.
let sweep (s: SweepResult) =
    let rows =
        s.Curve
        |> List.map (fun p -> $"| {f2 p.Threshold} | {pct p.Result.MeanIoU} | {pct p.Result.ForegroundIoU} |")
        |> String.concat "\n"
    $"Background-threshold sweep (best {f2 s.Best.Threshold}):\n\n| threshold | mIoU | fg IoU |\n|---|---|---|\n{rows}\n"
