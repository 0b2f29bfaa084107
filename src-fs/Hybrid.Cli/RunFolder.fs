/// Where a run goes when no --out is given.
module Hybrid.Cli.RunFolder

open System
open System.IO

/// runs/<method>-<yyyyMMdd-HHmmss>.
let fresh (methodName: string) =
    let stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss")
    let safe = methodName.Replace("+", "plus")
    Path.Combine("runs", $"{safe}-{stamp}")
