namespace Hybrid.Wsss.Runs

/// The classes of problem a run can stop with. Each has one exit code in the CLI (docs/cli.md,
/// "Exit codes"); the message of a RunError says what to fix.
type RunErrorKind =
    /// an argument, a setting or a config file is wrong (values, ranges, unknown keys, JSON)
    | BadArguments
    /// the dataset, a label folder or an image cannot be read or does not fit
    | BadData
    /// the run folder holds work that the command would overwrite, or nothing to resume
    | RunFolderConflict

/// A problem found before (or instead of) training; nothing in the run folder has changed.
exception RunError of kind: RunErrorKind * detail: string
    with
        override e.Message = e.detail

[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module RunError =
    let badArguments (msg: string) : 'a = raise (RunError(BadArguments, msg))
    let badData (msg: string) : 'a = raise (RunError(BadData, msg))
    let folderConflict (msg: string) : 'a = raise (RunError(RunFolderConflict, msg))

    /// Raises BadArguments listing the problems, if any.
    let ifAny (kind: RunErrorKind) (problems: string list) =
        match problems with
        | [] -> ()
        | [ p ] -> raise (RunError(kind, p))
        | ps -> raise (RunError(kind, (sprintf "%d problems:\n" ps.Length) + (ps |> List.map (fun p -> "  - " + p) |> String.concat "\n")))
