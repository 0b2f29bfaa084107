/// Commands on a finished run: `eval`, `labels` (pseudo masks for a second stage) and `infer`
/// (masks and overlays for a folder of images).
module Hybrid.Cli.Commands.RunCmds

open System
open System.IO
open Argu
open TorchSharp
open Hybrid.Data
open Hybrid.Vision
open Hybrid.Wsss
open Hybrid.Wsss.Eval
open Hybrid.Wsss.Training
open Hybrid.Wsss.Reports
open Hybrid.Wsss.Data
open Hybrid.Cli

type Output =
    | Cam
    | Pseudo
    | Seg
    /// a folder of label PNGs (pseudo masks written by `labels`, a stage of AuxSegNet+, ...)
    | Masks

type EvalArgs =
    | [<MainCommand; Mandatory>] Output of Output
    | Run of dir: string
    | Labels of dir: string
    | Data of dir: string
    | Split of VocSplit
    | Tta
    | Crf
    | Given_Labels
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Output _ -> "what to score: cam (seeds, background-threshold sweep), pseudo (the method's pseudo masks), seg (segmentation) of a run, or masks (a folder of label PNGs)"
            | Run _ -> "run folder of `hybrid train` (cam, pseudo, seg)"
            | Labels _ -> "folder of label PNGs named <id>.png, or holding SegmentationClass/<id>.png (masks)"
            | Data _ -> "dataset whose ground truth scores the masks (default data/fmnist-scenes)"
            | Split _ -> "split to score (default val)"
            | Tta -> "multi-scale (0.5, 1, 1.5) + flip for seg (CAMs always use it)"
            | Crf -> "dense CRF on the segmentation probabilities (the method's paper preset)"
            | Given_Labels -> "seg restricted to each image's GT classes, as seeds and pseudo masks are scored (a diagnostic, not a WSSS result)"
            | Device _ -> DeviceOption.usage

/// Scores a folder of label PNGs (palette indices: 0..K, 255 ignore) against a split's ground
/// truth; every image of the split needs its PNG.
let scoreMasks (labels: string) (data: string) (sp: VocSplit) : string[] * EvalResult =
    let folder = if Directory.Exists(Path.Combine(labels, "SegmentationClass")) then Path.Combine(labels, "SegmentationClass") else labels
    if not (Directory.Exists folder) then raise (DirectoryNotFoundException $"label folder not found: {labels}")
    let ds = DataSource.openSplit data sp None
    if not ds.HasMasks then invalidOp $"{data} has no ground-truth masks for the {sp} split to score against"
    let classNames = ds.ClassNames |> Array.ofSeq
    let acc = ConfusionAccumulator(classNames.Length)
    let missing = ResizeArray<string>()
    for i in 0 .. ds.Count - 1 do
        let path = Path.Combine(folder, ds.[i].Id + ".png")
        if not (File.Exists path) then missing.Add ds.[i].Id
        else
            let gt = (ds.Load i).Mask
            let pred = ImageIO.Read path
            if pred.Channels <> 1 then invalidOp $"{path}: expected a single-channel (palette or grey) label PNG, got {pred.Channels} channels"
            if pred.Width <> gt.Width || pred.Height <> gt.Height then
                invalidOp $"{path} is {pred.Width}x{pred.Height} but its image is {gt.Width}x{gt.Height}"
            acc.Add(gt.Pixels |> Array.map int, pred.Pixels |> Array.map int)
    if missing.Count > 0 then
        let first = missing |> Seq.truncate 5 |> String.concat ", "
        raise (FileNotFoundException $"{missing.Count} of {ds.Count} {sp} images have no label PNG in {folder} (first: {first})")
    let r = Metrics.evaluate sp PseudoMasks (acc.Snapshot())
    Say.info $"{ds.Count} label PNGs of {folder} scored against the {sp} ground truth of {data}"
    classNames, r

/// cam | pseudo | seg of a finished run.
let private evalRun (a: ParseResults<EvalArgs>) =
    let dir = match a.TryGetResult Run with Some d -> d | None -> invalidArg "run" "eval cam|pseudo|seg needs --run RUN"
    let device = DeviceOption.resolve (a.TryGetResult EvalArgs.Device)
    let spec, m, classNames = Hybrid.Wsss.Runs.RunDriver.restore device dir
    let sp = a.GetResult(Split, VocSplit.Val)
    let ds = DataSource.openSplit spec.Data sp None
    let batches () = DataSource.evalBatches device ds 16
    let c = classNames.Length
    let text =
        match a.GetResult Output with
        | Cam ->
            let s = Evaluate.camSeeds sp c m.Predict Evaluate.Scales.multi ThresholdSweep.defaultThresholds (batches ())
            Markdown.perClass classNames s.Best.Result + "\n" + Markdown.sweep s
        | Pseudo -> Markdown.perClass classNames (Evaluate.pseudo sp c m.Predict (batches ()))
        | Seg ->
            let scales = if a.Contains Tta then Evaluate.Scales.multi else Evaluate.Scales.single
            let crf = if a.Contains Crf then Some CrfPreset.DeepLabLargeFov else None
            if a.Contains Given_Labels then
                if crf.IsSome then invalidArg "crf" "--given-labels scores the network's own probabilities; leave out --crf"
                Markdown.perClass classNames (Evaluate.segmentationGivenLabels sp c m.Predict scales (batches ()))
            else
                let r = Evaluate.segmentationWith crf sp c m.Predict scales (batches ())
                // the protocol training's report scores (single scale): recorded with the run's
                // other headline numbers, for runs evaluated before it scored the CRF
                if crf.IsSome && not (a.Contains Tta) && sp = VocSplit.Val then
                    RunReport.record dir (RunReport.crfHeadline r)
                Markdown.perClass classNames r
        | Masks -> invalidArg "output" "eval masks scores a label folder: --labels DIR, not --run"
    printfn "%s" text
    let given = if a.Contains Given_Labels then "-given-labels" else ""
    let name = $"eval-{(a.GetResult Output).ToString().ToLowerInvariant()}{given}-{VocReader.SplitFileName sp}.md"
    File.WriteAllText(Path.Combine(dir, name), text)
    Say.info $"written to {Path.Combine(dir, name)}"
    0

let eval (a: ParseResults<EvalArgs>) =
    match a.GetResult Output with
    | Masks ->
        let labels = match a.TryGetResult Labels with Some d -> d | None -> invalidArg "labels" "eval masks needs --labels DIR"
        let sp = a.GetResult(Split, VocSplit.Train)
        let classNames, r = scoreMasks labels (a.GetResult(Data, "data/fmnist-scenes")) sp
        let text = Markdown.perClass classNames r
        printfn "%s" text
        let out = Path.Combine(labels, $"eval-masks-{VocReader.SplitFileName sp}.md")
        File.WriteAllText(out, text)
        Say.info $"written to {out}"
        0
    | _ -> evalRun a

type LabelsArgs =
    | [<Mandatory>] Run of dir: string
    | [<Mandatory>] Out of dir: string
    | Split of VocSplit
    | Threshold of float
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Run _ -> "run folder of `hybrid train`"
            | Out _ -> "folder for the pseudo masks (palette PNGs named by image id)"
            | Split _ -> "split to label (default train)"
            | Threshold _ -> "background threshold for CAM seeds when the method has no pseudo-mask pipeline (default 0.3)"
            | Device _ -> DeviceOption.usage

/// Writes (B, H, W) label maps as palette PNGs named by id.
let writeMasks (dir: string) (ids: string[]) (labels: Tensor) =
    Directory.CreateDirectory dir |> ignore
    let h, w = int (labels.size 1), int (labels.size 2)
    let data = Host.values<int64> labels
    let palette = VocPalette.Create 256
    ids |> Array.iteri (fun i id ->
        let px = Array.init (h * w) (fun p -> byte data[i * h * w + p])
        ImageIO.WritePng(Path.Combine(dir, id + ".png"), Image.Indexed(w, h, px, palette)))

let labels (a: ParseResults<LabelsArgs>) =
    let dir = a.GetResult Run
    let device = DeviceOption.resolve (a.TryGetResult LabelsArgs.Device)
    let spec, m, _ = Hybrid.Wsss.Runs.RunDriver.restore device dir
    let out = a.GetResult Out
    let ds = DataSource.openSplit spec.Data (a.GetResult(Split, VocSplit.Train)) None
    let t = a.GetResult(Threshold, 0.3)
    let predict (b: Batch) =
        match m.Predict.Pseudo with
        | Some f -> f b
        | None -> Cam.seeds t (Evaluate.cams m.Predict Evaluate.Scales.multi b) b.Labels
    use _ng = torch.no_grad ()
    let mutable n = 0
    for b in DataSource.evalBatches device ds 16 do
        use _scope = torch.NewDisposeScope()
        writeMasks out b.Ids (predict b)
        n <- n + b.Ids.Length
        if n % 400 < 16 then Console.Write($"\rlabels {n}/{ds.Count}   ")
    Console.WriteLine()
    Say.info $"{n} pseudo masks written to {out}; train on them with: ./hybrid train --method supervised --data {spec.Data} --labels {out}"
    0

type InferArgs =
    | [<Mandatory>] Run of dir: string
    | [<Mandatory>] Images of dir: string
    | [<Mandatory>] Out of dir: string
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Run _ -> "run folder of `hybrid train` (a method with a segmentation output)"
            | Images _ -> "folder of JPEG/PNG images; every readable one is segmented, the unreadable ones are listed at the end with their reason (exit code 4: some inputs failed)"
            | Out _ -> "folder for <stem>.png masks and <stem>_overlay.png pictures (<name>.png, e.g. a.jpg.png, when inputs share a stem); not --images nor inside it (exit code 2)"
            | Device _ -> DeviceOption.usage

/// Exit code of `infer` when some inputs could not be segmented (the others were).
let inferSomeFailed = 4

/// Whether `inner` is `outer` or a folder inside it.
let private isSameOrInside (outer: string) (inner: string) =
    let norm (p: string) = Path.TrimEndingDirectorySeparator(Path.GetFullPath p) + string Path.DirectorySeparatorChar
    (norm inner).StartsWith(norm outer, StringComparison.Ordinal)

/// The output name of each input: its stem, or its file name when several inputs share the stem
/// (a.jpg and a.png -> a.jpg, a.png; b.jpg alone -> b), so no two inputs write the same mask.
let outputNames (files: string[]) =
    let stems = files |> Array.countBy (fun f -> Path.GetFileNameWithoutExtension f) |> Map.ofArray
    files |> Array.map (fun f -> let stem = Path.GetFileNameWithoutExtension f in if stems[stem] > 1 then Path.GetFileName f else stem)

/// Segments every JPEG/PNG of `src` into `out` (<name>.png mask, <name>_overlay.png picture);
/// an input that cannot be read or segmented is skipped. Returns the written names and the
/// failures (file, reason).
let segmentFolder (device: torch.Device) (segment: Tensor -> Tensor) (src: string) (out: string) =
    let files = Directory.GetFiles src |> Array.filter (fun f -> [ ".jpg"; ".jpeg"; ".png" ] |> List.contains (Path.GetExtension(f).ToLowerInvariant())) |> Array.sort
    let names = outputNames files
    Directory.CreateDirectory out |> ignore
    use _ng = torch.no_grad ()
    let mean, std = [| 0.485f; 0.456f; 0.406f |], [| 0.229f; 0.224f; 0.225f |]
    let written, failed = ResizeArray<string>(), ResizeArray<string * string>()
    for f, name in Array.zip files names do
        use _scope = torch.NewDisposeScope()
        try
            let img = ImageIO.Read(f).ToRgb()
            let chw = img.ToChw()
            let plane = img.Width * img.Height
            let norm = Array.init chw.Length (fun i -> (chw[i] - mean[i / plane]) / std[i / plane])
            let x = torch.tensor(norm, [| 1L; 3L; int64 img.Height; int64 img.Width |], device = device) // (1, 3, H, W)
            let pred = (Evaluate.segmentProbs segment Evaluate.Scales.multi x).argmax(1L) // (1, H, W)
            let labels = Host.values<int> pred
            let overlay = Pictures.overlay img.Pixels labels
            writeMasks out [| name |] pred
            ImageIO.WritePng(Path.Combine(out, name + "_overlay.png"), Image(img.Width, img.Height, 3, overlay))
            written.Add name
        with e ->
            // the first line names the cause (native errors append a C++ backtrace)
            let reason = e.Message.Split('\n').[0].Trim()
            failed.Add(f, $"{e.GetType().Name}: {reason}")
    List.ofSeq written, List.ofSeq failed

let infer (a: ParseResults<InferArgs>) =
    let src, out = a.GetResult Images, a.GetResult Out
    if not (Directory.Exists src) then raise (DirectoryNotFoundException $"image folder not found: {src}")
    if isSameOrInside src out then
        Say.error $"--out {out} is the image folder or inside it ({src}): infer never writes among its inputs; choose another folder"
        2
    else
        let device = DeviceOption.resolve (a.TryGetResult InferArgs.Device)
        let _, m, _ = Hybrid.Wsss.Runs.RunDriver.restore device (a.GetResult Run)
        let segment =
            match m.Predict.Segment with
            | Some f -> f
            | None -> invalidOp "this run's method has no segmentation output: train a segmentation network on its labels (`hybrid labels`, then `hybrid train --method supervised --labels DIR`)"
        let written, failed = segmentFolder device segment src out
        Say.info $"{written.Length} masks and overlays written to {out}"
        if failed.IsEmpty then 0
        else
            Say.warn $"{failed.Length} input(s) could not be segmented:"
            for f, reason in failed do Say.warn $"  {f}: {reason}"
            inferSomeFailed
