namespace Hybrid.Wsss.Runs

open System.IO

/// What a run folder holds, as far as starting a run in it goes.
type RunFolderState =
    /// no folder, or an empty one (or one holding only a run's log)
    | NoRun
    /// a non-empty folder without run.json: not ours to write into
    | NotARunFolder
    /// run.json written, no checkpoint yet: a run that stopped before its first checkpoint
    | Started
    /// a checkpoint (or a stage's, or AuxSegNet+'s journal) but no results: stopped part-way
    | Checkpointed
    /// results.json: a finished, evaluated run
    | Evaluated

/// How `train` treats the run folder it is given.
type FolderMode =
    /// a new run: the folder must not hold a checkpointed or finished run
    | Fresh
    /// continue the run in the folder from its checkpoint (run.json says what it is)
    | Resume
    /// replace whatever run the folder holds
    | Overwrite

module RunFolderState =
    /// Files a run folder may hold before its run starts (repro's request and child log).
    let private preRunFiles = set [ "train.log"; "repro-request.json" ]

    /// Whether any checkpoint lies in the folder or a stage's subfolder, or AuxSegNet+'s
    /// journal of finished phases.
    let hasCheckpoint (dir: string) =
        Directory.Exists dir
        && (File.Exists(Path.Combine(dir, "journal.json"))
            || not (Seq.isEmpty (Directory.EnumerateFiles(dir, "checkpoint.safetensors", SearchOption.AllDirectories))))

    let ofFolder (dir: string) : RunFolderState =
        if not (Directory.Exists dir) then NoRun
        elif File.Exists(Path.Combine(dir, "results.json")) then Evaluated
        elif hasCheckpoint dir then Checkpointed
        elif File.Exists(RunSpec.path dir) then Started
        elif Directory.EnumerateFileSystemEntries dir |> Seq.forall (fun p -> preRunFiles.Contains(Path.GetFileName p)) then NoRun
        else NotARunFolder

    /// Checks that `mode` may use the folder; raises RunError (RunFolderConflict or
    /// BadArguments) saying what to do otherwise. Changes nothing.
    let check (dir: string) (mode: FolderMode) =
        if File.Exists dir then RunError.badArguments $"--out {dir} is a file; give a folder for the run"
        match mode, ofFolder dir with
        | _, NotARunFolder ->
            RunError.folderConflict $"--out {dir} is a folder with other files and no run.json; give a new or empty folder for the run"
        | Fresh, Evaluated ->
            RunError.folderConflict $"{dir} holds a finished run; give another --out, or add --overwrite to replace it"
        | Fresh, Checkpointed ->
            RunError.folderConflict $"{dir} holds a run stopped part-way (a checkpoint); continue it with `./hybrid train --out {dir} --resume`, or add --overwrite to replace it"
        | Resume, (NoRun | Started) ->
            RunError.folderConflict $"nothing to resume in {dir}: no checkpoint there; start the run without --resume"
        | _ -> ()

    /// Removes the run a folder holds (`--overwrite`): only a folder with run.json, or one that
    /// holds nothing else than a run's files, is ever cleared.
    let clear (dir: string) =
        match ofFolder dir with
        | NotARunFolder -> RunError.folderConflict $"--out {dir} is not a run folder; it is left as it is"
        | NoRun -> ()
        | _ ->
            for f in Directory.GetFiles dir do File.Delete f
            for d in Directory.GetDirectories dir do Directory.Delete(d, true)
