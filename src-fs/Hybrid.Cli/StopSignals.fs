/// SIGINT (Ctrl-C) and SIGTERM (what `timeout`, schedulers and containers send) ask a run to stop
/// at the next step boundary, where the training loop writes a checkpoint; a second signal of
/// either kind ends the process at once.
module Hybrid.Cli.StopSignals

open System
open System.Runtime.InteropServices
open System.Threading

/// The stop request of one run: its token is the training loop's Cancel.
type StopRequest() =
    let cts = new CancellationTokenSource()
    let mutable signal: PosixSignal option = None
    member _.Token = cts.Token
    /// The signal that asked to stop, if one did.
    member _.Signal = signal
    member _.IsRequested = cts.IsCancellationRequested
    /// What the signal handlers call: true the first time (the run stops at the next step
    /// boundary and the process stays alive), false afterwards (the default termination goes on).
    member _.Request(s: PosixSignal) : bool =
        lock cts (fun () ->
            if cts.IsCancellationRequested then false
            else
                signal <- Some s
                cts.Cancel()
                true)
    /// The exit code of a run that stopped on request: 128 + the signal's number (130 SIGINT, 143 SIGTERM).
    member _.ExitCode = match signal with Some PosixSignal.SIGTERM -> 143 | _ -> 130
    interface IDisposable with
        member _.Dispose() = cts.Dispose()

/// Routes SIGINT and SIGTERM to `stop` until disposed; `onFirst` runs (on the signal's thread)
/// when a signal makes the first request.
let listen (stop: StopRequest) (onFirst: PosixSignal -> unit) : IDisposable =
    let handler (ctx: PosixSignalContext) =
        if stop.Request ctx.Signal then
            ctx.Cancel <- true
            onFirst ctx.Signal
    let regs = [ for s in [ PosixSignal.SIGINT; PosixSignal.SIGTERM ] -> PosixSignalRegistration.Create(s, Action<PosixSignalContext> handler) ]
    { new IDisposable with
        member _.Dispose() = for r in regs do r.Dispose() }
