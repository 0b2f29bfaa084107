/// Terminal output shared by the commands: tables and progress through Spectre.Console.
module Hybrid.Cli.Say

open Spectre.Console

let info (s: string) = AnsiConsole.MarkupLine(Markup.Escape s)
let heading (s: string) = AnsiConsole.MarkupLine($"[bold]{Markup.Escape s}[/]")
let warn (s: string) = AnsiConsole.MarkupLine($"[yellow]{Markup.Escape s}[/]")
let error (s: string) = AnsiConsole.MarkupLine($"[red]{Markup.Escape s}[/]")

/// A two-column key/value table.
let keyValues (title: string) (rows: (string * string) list) =
    let t = Table().AddColumn("").AddColumn("")
    t.Title <- TableTitle(title)
    t.ShowHeaders <- false
    for k, v in rows do t.AddRow(Markup.Escape k, Markup.Escape v) |> ignore
    AnsiConsole.Write(t)
