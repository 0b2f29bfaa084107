/// Fresh folders under the system's temp folder for the CLI tests.
module Hybrid.Cli.Tests.TempDirs

open System
open System.IO

/// A new, empty folder hybrid-<area>-<name>-<guid> in the temp folder.
let create (area: string) (name: string) =
    let dir = Path.Combine(Path.GetTempPath(), $"hybrid-{area}-{name}-{Guid.NewGuid():N}")
    Directory.CreateDirectory dir |> ignore
    dir
