namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open Hybrid.Torch.Serialization
open Hybrid.Wsss.Schedules

/// The StageJournal of a run folder, so that `--resume` continues a stopped AuxSegNet+ run:
/// `<out>/journal.json` lists the phases that finished (with their epoch metrics) and the
/// stages whose labels were written; `<out>/<phase>/end.safetensors` holds the network at each
/// finished phase's end; the labels are the run's own label folders.
module RunJournal =
    let path (out: string) = Path.Combine(out, "journal.json")

    let private endOf (out: string) (phase: Phase) = Path.Combine(out, StageRunner.phaseName phase, "end.safetensors")

    /// (finished phases with their metrics, stages whose labels were written), oldest first.
    let private load (out: string) : (string * float list) list * int list =
        let file = path out
        if not (File.Exists file) then
            [], []
        else
            let root = JsonNode.Parse(File.ReadAllText file)
            if isNull root then raise (InvalidDataException $"{file} is empty; delete it to train the run from its start")
            let phases =
                [ for p in root["phases"].AsArray() ->
                      p["phase"].GetValue<string>(),
                      [ for m in p["metrics"].AsArray() -> if isNull m then nan else m.GetValue<float>() ] ]
            let labels = [ for l in root["labels"].AsArray() -> l.GetValue<int>() ]
            phases, labels

    let private save (out: string) (phases: (string * float list) list) (labels: int list) =
        let root = JsonObject()
        let ps = JsonArray()
        for name, metrics in phases do
            let ms = JsonArray()
            // JSON has no NaN: the classification phase's undefined metric is null
            for m in metrics do ms.Add(if Double.IsNaN m then null else JsonValue.Create m)
            ps.Add(JsonObject(dict [ "phase", JsonValue.Create name :> JsonNode; "metrics", ms :> JsonNode ]))
        root["phases"] <- ps
        root["labels"] <- JsonArray([| for l in labels -> JsonValue.Create l :> JsonNode |])
        let tmp = path out + ".tmp"
        File.WriteAllText(tmp, root.ToJsonString(JsonSerializerOptions(WriteIndented = true)))
        File.Move(tmp, path out, true)

    /// Forgets what an earlier run into `out` finished (for a run that starts afresh).
    let clear (out: string) = if File.Exists(path out) then File.Delete(path out)

    /// The journal of `out` for `net`: it resumes what the folder lists and records what
    /// finishes. `readLabels stage` rebuilds a stage's written labels (with their quality).
    /// Returns the journal and the function that records a stage's labels once written.
    let create (out: string) (net: AuxSegNetNetwork) (readLabels: int -> StageLabels) : StageJournal * (int -> unit) =
        let loaded = load out
        let phases = ref (fst loaded)
        let labels = ref (snd loaded)
        let journal =
            { Finished = fun phase -> phases.Value |> List.tryFind (fun (n, _) -> n = StageRunner.phaseName phase) |> Option.map snd
              Restore = fun phase -> Checkpoint.Load(endOf out phase, net, null, false) |> ignore
              Labels = fun stage -> if List.contains stage labels.Value then Some(readLabels stage) else None
              PhaseDone =
                fun phase metrics ->
                    Directory.CreateDirectory(Path.GetDirectoryName(endOf out phase)) |> ignore
                    Checkpoint.Save(endOf out phase, net, null, 0L, readOnlyDict [ "phase", StageRunner.phaseName phase ])
                    phases.Value <- phases.Value @ [ StageRunner.phaseName phase, metrics ]
                    save out phases.Value labels.Value }
        let labelsWritten (stage: int) =
            if not (List.contains stage labels.Value) then
                labels.Value <- labels.Value @ [ stage ]
                save out phases.Value labels.Value
        journal, labelsWritten
