/// SIGTERM (what `timeout`, schedulers and containers send) stops `hybrid train` at the next step
/// boundary with a checkpoint and the exact resume command, like Ctrl-C; the resumed run ends
/// with the uninterrupted run's weights and metrics (issue 21, point 3). Real child processes.
module Hybrid.Cli.Tests.StopSignalTests

open System
open System.Diagnostics
open System.IO
open System.Text.RegularExpressions
open Expecto
open TorchSharp
open Hybrid.Data
open Hybrid.Torch.Serialization
open Hybrid.TestSupport.Expectations
open Hybrid.Cli.Tests.ReproSpecTests

let private cliDll = Path.Combine(repoRoot, "src-fs", "Hybrid.Cli", "bin", "Release", "net10.0", "hybrid.dll")

/// Starts `hybrid <argv>` as a child process; stdout and stderr are collected.
let private start (argv: string list) =
    let psi = ProcessStartInfo(Environment.ProcessPath, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    psi.ArgumentList.Add cliDll
    for a in argv do psi.ArgumentList.Add a
    psi.Environment["DOTNET_TC_CallCounting"] <- "0"
    psi.Environment["DOTNET_JitNoInline"] <- "1"
    let p = new Process(StartInfo = psi)
    let out = Text.StringBuilder()
    let add (e: DataReceivedEventArgs) = if not (isNull e.Data) then lock out (fun () -> out.AppendLine e.Data |> ignore)
    p.OutputDataReceived.Add add
    p.ErrorDataReceived.Add add
    p.Start() |> ignore
    p.BeginOutputReadLine()
    p.BeginErrorReadLine()
    p, out

let private finish (p: Process, out: Text.StringBuilder) =
    if not (p.WaitForExit 300_000) then p.Kill true; failwith "the child run did not end within 5 minutes"
    p.WaitForExit()
    let rc = p.ExitCode
    p.Dispose()
    rc, lock out (fun () -> out.ToString())

let private lines (path: string) = if File.Exists path then File.ReadAllLines path else [||]

[<Tests>]
let tests =
    testList "StopSignal" [
        testCase "SIGTERM checkpoints at the step reached, prints the resume command; the resumed run equals the uninterrupted one" <| fun () ->
            Expect.isTrue (File.Exists cliDll) $"the CLI is built ({cliDll})"
            let root = Path.Combine(Path.GetTempPath(), $"hybrid-sigterm-{Guid.NewGuid():N}")
            try
                let data = Path.Combine(root, "data")
                FmnistScenes.Generate(FmnistScenesOptions(data, Train = 8, Val = 4, Size = 32, Seed = 3L)) |> ignore
                let steps = 300
                let args dir = [ "train"; "--method"; "cam"; "--data"; data; "--steps"; string steps; "--batch-size"; "2"; "--crop"; "32"; "--workers"; "1"; "--checkpoint-every"; "1000"; "--out"; dir ]
                let straight, stopped = Path.Combine(root, "straight"), Path.Combine(root, "stopped")
                let rc, _ = finish (start (args straight))
                Expect.equal rc 0 "the uninterrupted run's exit code"
                // SIGTERM once the run has logged 10 steps
                let child = start (args stopped)
                let p, _ = child
                let metrics = Path.Combine(stopped, "metrics.jsonl")
                let sw = Stopwatch.StartNew()
                while not p.HasExited && (try lines metrics |> Array.length with :? IOException -> 0) < 10 && sw.Elapsed.TotalSeconds < 60.0 do
                    Threading.Thread.Sleep 5
                Expect.isFalse p.HasExited "the run was still training when the signal was sent"
                use kill = Process.Start(ProcessStartInfo("kill", $"-TERM {p.Id}", UseShellExecute = false))
                kill.WaitForExit()
                let rc, output = finish child
                Expect.equal rc 143 "exit code of a run stopped by SIGTERM (128 + 15)"
                let struct (tensors, meta) = Safetensors.Load(Path.Combine(stopped, "checkpoint.safetensors"))
                for t in tensors.Values do t.Dispose()
                let reached = int meta["step"]
                inRange reached 10 (steps - 1) "the checkpoint's step"
                Expect.equal (lines metrics).Length reached "metrics.jsonl holds the steps up to the checkpoint"
                // the printed command (wrapped at the console width, coloured) continues the run as
                // its run.json describes: nothing but the folder and --resume
                let plain = Regex.Replace(output, "\u001b\\[[0-9;]*m", "")
                let squeeze (s: string) = Regex.Replace(s, "\\s+", "")
                let resume = [ "train"; "--out"; stopped; "--resume" ]
                Expect.stringContains (squeeze plain) (squeeze ("resume with: ./hybrid " + String.concat " " resume)) "the resume command"
                let rc, _ = finish (start resume)
                Expect.equal rc 0 "the resumed run's exit code"
                Expect.equal (lines metrics) (lines (Path.Combine(straight, "metrics.jsonl"))) "metrics.jsonl equals the uninterrupted run's"
                let struct (a, ma) = Safetensors.Load(Path.Combine(straight, "checkpoint.safetensors"))
                let struct (b, mb) = Safetensors.Load(Path.Combine(stopped, "checkpoint.safetensors"))
                Expect.equal ma["step"] mb["step"] "final step"
                Expect.equal (Set.ofSeq b.Keys) (Set.ofSeq a.Keys) "checkpoint keys"
                for KeyValue(k, t) in a do
                    let u = b[k]
                    let same = if t.is_floating_point () then t.allclose(u, 1e-5, 1e-6) else t.equal(u).all().item<bool> ()
                    Expect.isTrue same $"{k} equals the uninterrupted run's"
                for t in Seq.append a.Values b.Values do t.Dispose()
            finally
                if Directory.Exists root then Directory.Delete(root, true)
    ]
