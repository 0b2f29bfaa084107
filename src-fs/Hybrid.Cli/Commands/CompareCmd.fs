/// `hybrid compare RUN...`: the headline numbers of several runs side by side.
module Hybrid.Cli.Commands.CompareCmd

open System.IO
open System.Text.Json
open Argu
open Spectre.Console

type Args =
    | [<MainCommand; Mandatory>] Runs of dir: string list
    interface IArgParserTemplate with
        member _.Usage = "run folders (each with results.json from `hybrid train`)"

let private columns =
    [ "seed_miou", "CAM seeds mIoU"; "pseudo_miou", "pseudo-mask mIoU"; "seg_miou", "segmentation mIoU"; "seed_fg_iou", "seed fg IoU"; "seg_fg_iou", "seg fg IoU" ]

let run (a: ParseResults<Args>) =
    let t = Table()
    t.Title <- TableTitle("val mIoU (%), FMNIST-Scenes")
    t.AddColumn("run") |> ignore
    for _, h in columns do t.AddColumn(h) |> ignore
    for dir in a.GetResult Runs do
        let p = Path.Combine(dir, "results.json")
        if File.Exists p then
            use doc = JsonDocument.Parse(File.ReadAllText p)
            let cell (k: string) =
                match doc.RootElement.TryGetProperty k with
                | true, v -> (100.0 * v.GetDouble()).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)
                | _ -> "-"
            t.AddRow(Array.append [| Markup.Escape(Path.GetFileName(Path.GetFullPath dir)) |] (columns |> List.map (fst >> cell) |> Array.ofList)) |> ignore
    AnsiConsole.Write t
    0
