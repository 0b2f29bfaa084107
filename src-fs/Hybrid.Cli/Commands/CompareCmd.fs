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

/// results.json key, column header: short enough that the table fits an 80-column terminal.
let private columns =
    [ "seed_miou", "seeds"; "pseudo_miou", "pseudo"; "seg_miou", "seg"; "seg_crf_miou", "seg+CRF"; "seed_fg_iou", "seeds fg"; "seg_fg_iou", "seg fg" ]

let run (a: ParseResults<Args>) =
    let t = Table()
    t.Title <- TableTitle("val, FMNIST-Scenes (%)")
    t.Caption <- TableTitle("seeds / pseudo / seg: mIoU of the CAM seeds, pseudo masks and segmentation (+CRF: after the dense CRF); fg: class-agnostic foreground IoU")
    t.AddColumn("run") |> ignore
    for _, h in columns do t.AddColumn(TableColumn(h).RightAligned()) |> ignore
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
