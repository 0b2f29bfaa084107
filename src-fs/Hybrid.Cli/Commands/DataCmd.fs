/// `hybrid data scenes|saliency`: the embedded benchmark and classical saliency maps.
module Hybrid.Cli.Commands.DataCmd

open System
open Argu
open Hybrid.Data
open Hybrid.Cli

type ScenesArgs =
    | [<Mandatory>] Out of dir: string
    | Train of count: int
    | Val of count: int
    | Size of pixels: int
    | Seed of int
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Out _ -> "output folder (VOC layout)"
            | Train _ -> "train scenes (default 4000)"
            | Val _ -> "val scenes (default 500)"
            | Size _ -> "canvas side in pixels (default 96)"
            | Seed _ -> "seed (default 0); the same seed writes byte-identical files"

type Method =
    | Spectral_Residual
    | Frequency_Tuned

type SaliencyArgs =
    | [<Mandatory>] Images of dir: string
    | [<Mandatory>] Out of dir: string
    | Method of Method
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Images _ -> "folder of JPEG/PNG images"
            | Out _ -> "folder for the saliency PNGs (same stems)"
            | Method _ -> "spectral-residual (default) or frequency-tuned"

type Args =
    | [<CliPrefix(CliPrefix.None)>] Scenes of ParseResults<ScenesArgs>
    | [<CliPrefix(CliPrefix.None)>] Saliency of ParseResults<SaliencyArgs>
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Scenes _ -> "generate FMNIST-Scenes (the embedded benchmark) in VOC layout"
            | Saliency _ -> "compute classical saliency maps for a folder of images"

/// A console progress reporter for data jobs.
let private progress () =
    let interactive = not Console.IsOutputRedirected
    let mutable lastPhase = ""
    let mutable lastPct = -1
    { new IProgress<DataProgress> with
        member _.Report p =
            let pct = if p.Total = 0 then 100 else 100 * p.Done / p.Total
            if p.Phase <> lastPhase || pct <> lastPct then
                if interactive then Console.Write($"\r{p.Phase} {p.Done}/{p.Total} ({pct}%%)   ")
                elif pct % 25 = 0 || p.Phase <> lastPhase then Console.WriteLine($"{p.Phase} {p.Done}/{p.Total}")
                lastPhase <- p.Phase
                lastPct <- pct }

let scenes (a: ParseResults<ScenesArgs>) =
    let opts =
        FmnistScenesOptions(a.GetResult ScenesArgs.Out,
                            Train = a.GetResult(Train, 4000),
                            Val = a.GetResult(Val, 500),
                            Size = a.GetResult(Size, 96),
                            Seed = int64 (a.GetResult(ScenesArgs.Seed, 0)))
    let r = FmnistScenes.Generate(opts, progress ())
    Console.WriteLine()
    Say.keyValues "FMNIST-Scenes" [
        "folder", opts.OutputDir
        "train / val scenes", $"{r.Train} / {r.Val}"
        "single-item fraction", $"{r.SingleItemFraction:P1}"
        "co-occurring pair fraction", $"{r.PartnerPairFraction:P1}"
        "time", $"{r.Elapsed.TotalSeconds:F1} s" ]
    0

let saliency (a: ParseResults<SaliencyArgs>) =
    let m = match a.GetResult(Method, Spectral_Residual) with Spectral_Residual -> SaliencyMethod.SpectralResidual | Frequency_Tuned -> SaliencyMethod.FrequencyTuned
    let n = SaliencyMaps.ComputeFolder(a.GetResult Images, a.GetResult SaliencyArgs.Out, m, progress ())
    Console.WriteLine()
    Say.info $"{n} saliency maps written to {a.GetResult SaliencyArgs.Out}"
    0

let run (a: ParseResults<Args>) =
    match a.GetSubCommand() with
    | Scenes s -> scenes s
    | Saliency s -> saliency s
