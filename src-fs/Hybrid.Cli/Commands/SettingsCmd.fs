/// `hybrid settings [METHOD]`: every method setting from the methods' settings tables (key,
/// type, default, where in the paper, what it does): what `--set`, `--config` files and
/// run.json take.
module Hybrid.Cli.Commands.SettingsCmd

open Argu
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods

type Args =
    | [<MainCommand>] Method of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Method _ -> $"""the method whose settings to list (default: all): {String.concat " | " Registry.names}"""

let private cell (s: string) = s.Replace("|", "\\|")

/// A method's settings as a Markdown table.
let markdown (entry: MethodEntry) =
    [ yield $"### {entry.Name}"
      yield ""
      yield entry.Summary
      yield ""
      yield "| key | type | default | paper | what it sets |"
      yield "|---|---|---|---|---|"
      for r in entry.Settings.Rows do
          yield $"| `{r.Name}` | {cell (SettingType.describe r.Type)} | `{cell r.Default}` | {cell r.Paper} | {cell r.Doc} |" ]
    |> String.concat "\n"

let run (a: ParseResults<Args>) =
    let entries =
        match a.TryGetResult Method with
        | Some m -> [ Registry.find m ]
        | None -> Registry.all
    printfn "%s" (entries |> List.map markdown |> String.concat "\n\n")
    printfn "\nSet with `--set key=value` (keys match with any case, '-' or '_'), or a --config JSON file {\"key\": value}."
    0
