/// The report of a trained method on a split: every output it has evaluated (CAM seeds with the
/// sweep, pseudo masks, segmentation), written as results.json and report.md, plus pictures.
module Hybrid.Wsss.Reports.RunReport

open System
open System.IO
open System.Text.Json
open TorchSharp
open Hybrid.Data
open Hybrid.Wsss
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Training

type Results =
    { Split: VocSplit
      Seeds: SweepResult option
      Pseudo: EvalResult option
      Segmentation: EvalResult option
      /// the segmentation restricted to each image's GT classes (Evaluate.segmentationGivenLabels)
      SegmentationGivenLabels: EvalResult option
      /// the segmentation after the dense CRF (Options.SegCrf)
      SegmentationCrf: EvalResult option }

/// How to evaluate.
type Options =
    { Split: VocSplit
      CamScales: Evaluate.Scales
      SegScales: Evaluate.Scales
      /// the dense CRF the segmentation is also scored with (the papers' optional test-time
      /// refinement); None: plain only
      SegCrf: Hybrid.Vision.CrfPreset option
      Thresholds: float list
      /// Number of val images drawn as pictures (the first ones, a fixed set).
      Pictures: int }

let defaults =
    { Split = VocSplit.Val
      CamScales = Evaluate.Scales.multi
      SegScales = Evaluate.Scales.single
      SegCrf = Some Hybrid.Vision.CrfPreset.DeepLabLargeFov
      Thresholds = ThresholdSweep.defaultThresholds
      Pictures = 8 }

/// Evaluates every output the predictor has. batches: a fresh pass over the split per call.
let evaluate (opts: Options) (classes: int) (p: Predictor) (batches: unit -> seq<Batch>) : Results =
    let seeds = p.Cam |> Option.map (fun _ -> Evaluate.camSeeds opts.Split classes p opts.CamScales opts.Thresholds (batches ()))
    let pseudo = p.Pseudo |> Option.map (fun _ -> Evaluate.pseudo opts.Split classes p (batches ()))
    // one pass over the split scores the segmentation every way
    let seg = p.Segment |> Option.map (fun _ -> Evaluate.segmentationScores opts.SegCrf opts.Split classes p opts.SegScales (batches ()))
    { Split = opts.Split
      Seeds = seeds
      Pseudo = pseudo
      Segmentation = seg |> Option.map (fun s -> s.Plain)
      SegmentationGivenLabels = seg |> Option.map (fun s -> s.GivenLabels)
      SegmentationCrf = seg |> Option.bind (fun s -> s.Crf) }

/// The headline numbers of the segmentation after the dense CRF.
let crfHeadline (e: EvalResult) = [ "seg_crf_miou", e.MeanIoU; "seg_crf_fg_iou", e.ForegroundIoU ]

/// Headline numbers (fractions) by name, for metrics logs and comparisons.
let headline (r: Results) : (string * float) list =
    [ match r.Seeds with Some s -> yield "seed_miou", s.Best.Result.MeanIoU; yield "seed_fg_iou", s.Best.Result.ForegroundIoU; yield "seed_threshold", s.Best.Threshold | None -> ()
      match r.Pseudo with Some e -> yield "pseudo_miou", e.MeanIoU; yield "pseudo_precision", e.MeanPrecision; yield "pseudo_recall", e.MeanRecall | None -> ()
      match r.Segmentation with Some e -> yield "seg_miou", e.MeanIoU; yield "seg_fg_iou", e.ForegroundIoU | None -> ()
      match r.SegmentationGivenLabels with Some e -> yield "seg_given_labels_miou", e.MeanIoU | None -> ()
      match r.SegmentationCrf with Some e -> yield! crfHeadline e | None -> () ]

let markdown (title: string) (classNames: string[]) (r: Results) =
    let parts =
        [ yield $"# {title}\n"
          yield $"Split scored: **{VocReader.SplitFileName r.Split}**.\n"
          match r.Seeds with
          | Some s ->
              yield Markdown.perClass classNames s.Best.Result
              yield Markdown.sweep s
          | None -> ()
          match r.Pseudo with Some e -> yield Markdown.perClass classNames e | None -> ()
          match r.Segmentation with Some e -> yield Markdown.perClass classNames e | None -> ()
          match r.SegmentationGivenLabels with Some e -> yield Markdown.perClass classNames e | None -> ()
          match r.SegmentationCrf with Some e -> yield Markdown.perClass classNames e | None -> () ]
    String.concat "\n" parts

/// Writes results.json (headline numbers) and report.md into dir.
let write (dir: string) (title: string) (classNames: string[]) (r: Results) =
    Directory.CreateDirectory dir |> ignore
    let json = JsonSerializer.Serialize(dict (headline r), JsonSerializerOptions(WriteIndented = true))
    File.WriteAllText(Path.Combine(dir, "results.json"), json)
    File.WriteAllText(Path.Combine(dir, "report.md"), markdown title classNames r)

/// Adds (or replaces) headline numbers in a run's results.json, keeping the others: what a
/// later evaluation of the run (`eval seg --crf`) records beside the ones training wrote.
let record (dir: string) (values: (string * float) list) =
    let p = Path.Combine(dir, "results.json")
    if not (File.Exists p) then raise (FileNotFoundException $"{p}: the run has no results.json (train it to the end first)")
    let o =
        match System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText p) with
        | :? System.Text.Json.Nodes.JsonObject as o -> o
        | _ -> raise (InvalidDataException $"{p}: expected a JSON object of headline numbers")
    for k, v in values do o[k] <- System.Text.Json.Nodes.JsonValue.Create v
    Hybrid.Torch.Serialization.AtomicFile.WriteAllText(p, o.ToJsonString(JsonSerializerOptions(WriteIndented = true)))

/// Pictures of the first n images of the split: image | GT | CAM heatmap | seeds | pseudo | seg.
let pictures (dir: string) (n: int) (seedThreshold: float) (p: Predictor) (mean: float32[]) (std: float32[]) (batches: seq<Batch>) =
    use _ng = torch.no_grad ()
    let mutable written = 0
    use e = batches.GetEnumerator()
    while written < n && e.MoveNext() do
        use _scope = torch.NewDisposeScope()
        let batch = e.Current
        let b, h, w = Batch.size batch, int (batch.Images.size 2), int (batch.Images.size 3)
        let img = Host.values<float32> batch.Images
        let gt = batch.Masks |> Option.map Host.values<int>
        let cams = p.Cam |> Option.map (fun _ -> Evaluate.cams p Evaluate.Scales.multi batch)
        let camMax = cams |> Option.map (fun c -> Host.values<float32> (c.amax([| 1L |])))
        let seeds = cams |> Option.map (fun c -> Host.values<int> (Cam.seeds seedThreshold c batch.Labels))
        let pseudo = p.Pseudo |> Option.map (fun f -> Host.values<int> (f batch))
        let seg = p.Segment |> Option.map (fun f -> Host.values<int> ((Evaluate.segmentProbs f Evaluate.Scales.single batch.Images).argmax(1L)))
        let plane = h * w
        for i in 0 .. b - 1 do
            if written < n then
                let rgb = Pictures.denormalise img[i * 3 * plane .. (i + 1) * 3 * plane - 1] h w mean std
                let part (a: int[]) = a[i * plane .. (i + 1) * plane - 1]
                let panels =
                    [ yield rgb
                      match gt with Some g -> yield Pictures.colourLabels (part g) | None -> ()
                      match camMax with Some c -> yield Pictures.heatmap rgb c[i * plane .. (i + 1) * plane - 1] | None -> ()
                      match seeds with Some s -> yield Pictures.colourLabels (part s) | None -> ()
                      match pseudo with Some s -> yield Pictures.colourLabels (part s) | None -> ()
                      match seg with Some s -> yield Pictures.overlay rgb (part s) | None -> () ]
                Pictures.writeRow (Path.Combine(dir, $"{written:D2}_{batch.Ids[i]}.png")) h w panels
                written <- written + 1
    written
