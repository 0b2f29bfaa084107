/// A one-line progress display for long runs: step, bar, losses, lr, it/s and ETA.
module Hybrid.Cli.Progress

open System
open Hybrid.Wsss.Training

let private bar (width: int) (fraction: float) =
    let n = int (Math.Round(float width * Math.Clamp(fraction, 0.0, 1.0)))
    String('#', n) + String('.', width - n)

let private eta (p: Progress) =
    if p.StepsPerSecond <= 0.0 then "?"
    else
        let s = TimeSpan.FromSeconds(float (p.Total - p.Step) / p.StepsPerSecond)
        if s.TotalHours >= 1.0 then s.ToString(@"h\:mm\:ss") else s.ToString(@"mm\:ss")

/// Formats a progress report as one line.
let line (label: string) (p: Progress) =
    let losses = p.Losses |> List.map (fun (n, v) -> $"{n} {v:F4}") |> String.concat " "
    $"{label} {p.Step,6}/{p.Total} [{bar 20 (float p.Step / float p.Total)}] {losses} lr {p.Lr:E2} {p.StepsPerSecond:F1} it/s ETA {eta p}"

/// Prints progress in place on a terminal, one line per report otherwise (logs, CI).
let reporter (label: string) : Progress -> unit =
    let interactive = not Console.IsOutputRedirected
    fun p ->
        let l = line label p
        if interactive then
            Console.Write("\r" + l.PadRight(Math.Max(0, Console.WindowWidth - 1)))
            if p.Step = p.Total then Console.WriteLine()
        else Console.WriteLine(l)

/// A done / total counter for a pass over files (e.g. the image scan before training): in place
/// on a terminal about 20 times a second, every 10% in logs.
let counter (label: string) : int -> int -> unit =
    let interactive = not Console.IsOutputRedirected
    let clock = Diagnostics.Stopwatch.StartNew()
    let mutable last = -1000L
    let mutable lastDecile = -1
    fun n total ->
        if interactive then
            if n = total || clock.ElapsedMilliseconds - last >= 50L then
                last <- clock.ElapsedMilliseconds
                Console.Write($"\r{label} {n}/{total} [{bar 20 (float n / float (max 1 total))}]")
                if n = total then Console.WriteLine()
        else
            let decile = n * 10 / max 1 total
            if decile <> lastDecile then
                lastDecile <- decile
                Console.WriteLine($"{label} {n}/{total}")
