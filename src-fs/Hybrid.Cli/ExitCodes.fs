/// One exit code per class of outcome, the same for every command (docs/cli.md, "Exit codes").
module Hybrid.Cli.ExitCodes

open System
open System.IO
open Hybrid.Wsss.Runs

let ok = 0
/// a defect of Hybrid itself: the message and HYBRID_DEBUG=1's stack trace belong in a bug report
let internalError = 1
/// an argument, a setting or a config file is wrong; nothing ran
let badArguments = 2
/// the dataset, a label folder or an image cannot be read or does not fit
let badData = 3
/// some inputs were processed, others failed (listed)
let someInputsFailed = 4
/// the run folder holds work the command would overwrite, or nothing to resume
let runFolderConflict = 5
/// a loss became NaN or infinite; the last checkpoint is kept
let trainingDiverged = 6
/// libtorch reported an error (e.g. out of memory, a device problem)
let nativeError = 7
/// stopped by Ctrl-C (SIGINT) / SIGTERM at a step boundary, with a checkpoint to resume from
let interrupted = 130
let terminated = 143

/// Every code with its meaning, for `--help` and docs/cli.md.
let table =
    [ ok, "success"
      internalError, "an unexpected error (a defect: rerun with HYBRID_DEBUG=1 for the stack trace)"
      badArguments, "bad arguments, settings or config file (nothing ran)"
      badData, "the dataset, a label folder or an image cannot be read"
      someInputsFailed, "infer: some images could not be segmented (listed; the others were)"
      runFolderConflict, "the run folder holds a run (use --resume or --overwrite), or has nothing to resume"
      trainingDiverged, "a loss became NaN or infinite (the last checkpoint is kept)"
      nativeError, "libtorch failed (out of memory, device)"
      interrupted, "stopped by Ctrl-C, checkpoint written (resume command printed)"
      terminated, "stopped by SIGTERM, checkpoint written (resume command printed)" ]

/// The code of an exception that ended a command.
let ofException (e: exn) =
    match e with
    | RunError(BadArguments, _) -> badArguments
    | RunError(BadData, _) -> badData
    | RunError(RunFolderConflict, _) -> runFolderConflict
    | Hybrid.Wsss.Training.NonFiniteLoss _ -> trainingDiverged
    | :? Argu.ArguParseException -> badArguments
    | :? ArgumentException -> badArguments
    | :? FileNotFoundException
    | :? DirectoryNotFoundException
    | :? InvalidDataException -> badData
    | :? Runtime.InteropServices.ExternalException -> nativeError
    | _ -> internalError
