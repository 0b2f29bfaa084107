module Hybrid.Cli.Program

[<EntryPoint>]
let main _argv = 0
