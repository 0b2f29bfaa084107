namespace Hybrid.Wsss.Runs

open System
open Hybrid.Data

/// Decodes every image (and its mask and saliency map) a run will read before it trains, so a
/// damaged file stops the run at the start with every bad file named, not hours in.
module ImageScan =
    /// The samples of the datasets that do not decode, as (split name, image path, reason);
    /// onProgress gets (done, total) after each sample.
    let failures (splits: (string * SegmentationDataset) list) (onProgress: int -> int -> unit) : (string * string * string) list =
        let total = splits |> List.sumBy (fun (_, ds) -> ds.Count)
        let mutable n = 0
        [ for name, ds in splits do
              for i in 0 .. ds.Count - 1 do
                  let bad =
                      try
                          ds.Load i |> ignore
                          None
                      with e ->
                          // the first line names the cause (native decoders append details)
                          Some(name, ds[i].ImagePath, e.Message.Split('\n').[0].Trim())
                  n <- n + 1
                  onProgress n total
                  match bad with
                  | Some b -> yield b
                  | None -> () ]

    /// Raises RunError BadData listing the files that do not decode (at most 20 by name).
    let require (splits: (string * SegmentationDataset) list) (onProgress: int -> int -> unit) =
        match failures splits onProgress with
        | [] -> ()
        | bad ->
            let shown = bad |> List.truncate 20 |> List.map (fun (s, p, r) -> $"  {s}: {p}: {r}") |> String.concat "\n"
            let more = if bad.Length > 20 then $"\n  ... and {bad.Length - 20} more" else ""
            RunError.badData $"{bad.Length} image(s) the run would read do not decode:\n{shown}{more}\nreplace or remove them (or pass --no-scan to find them only when read)"
