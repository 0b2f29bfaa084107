namespace Hybrid.Wsss.Methods.Csd

open Hybrid.Wsss
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cam

/// The distribution Eq. 5 compares on background pixels. The equation that defines it (Eq. 4)
/// is lost from the paper's text; what survives: "we introduce constant values M' as the dummy
/// score ... where sigma denotes the sum operation along the classes channels and results a
/// prediction score about saliency".
type BackgroundScore =
    /// softmax over [M_1 .. M_K, M'] (K + 1 channels): the dummy score is an extra background
    /// class appended to the class scores (MAP.md's reading; our default).
    | DummyClass
    /// softmax over [sigma(M), M'] with sigma(M) = sum_c M_c: a two-way saliency (any object)
    /// versus background distribution (the literal reading of the surviving sentence).
    | SaliencySum

/// How the per-pixel KL terms of Eq. 3 and Eq. 5 are reduced.
type ConsistencyReduction =
    /// The equations' sum over pixels, counted at the model's output resolution (the sum at
    /// image resolution divided by the pixels per output cell), averaged over the pasted
    /// images. Measured: from a pretrained backbone L_bg starts at 3.2 (x lambda2) against the
    /// classification's 0.89 and the CAM seeds collapse (41.7 -> 8.0, seed 0).
    | SumOverCells
    /// The mean over the selected pixels of the whole batch. Our default: from the same
    /// pretrained backbone CSD then scores 44.7 against the baseline's 41.7 (seed 0;
    /// paper-repro/pretrained-backbone/README.md).
    | MeanOverPixels

/// Where the single-label images' masks (stage 1) come from.
type SourceMaskRule =
    /// The stage-1 model's max-normalised multi-scale CAM of the image's class above a threshold.
    | CamThreshold of threshold: float
    /// The stage-1 method's own pseudo masks (its Predictor.Pseudo); 255 there = unreliable.
    | MethodPseudo
    /// Diagnostic upper bound, NOT weakly supervised: the single-label images' ground-truth
    /// masks stand in for stage 1 (isolates the effect of stage-1 mask quality).
    | GroundTruthOracle

/// Where the stage-1 model comes from.
type Stage1 =
    /// Train the CAM baseline inside the run, for the run's steps (run folder `stage1/`).
    | TrainBaseline
    /// Load the checkpoint of a finished `hybrid train --method cam` run folder.
    | FromRun of dir: string

/// CSD's settings; `defaults` are the paper's (MAP.md) unless a comment says otherwise.
type CsdConfig =
    { /// Component table: the dual consistency learning through copy-paste. Off = the baseline
      /// row (L = L_cls, no stage 1).
      CopyPaste: bool
      /// Component table: co-occurrence oriented resampling (on) or any single-label image,
      /// uniformly (off).
      Pairing: Pairing
      /// Eq. 1's estimate of the prior (the paper's counts, or the smoothed variant).
      Cooccurrence: CooccurrenceOptions
      /// lambda1 (L_fg) and lambda2 (L_bg), Eq. 6 (0.01, 0.1; Fig. 6 grid).
      Lambda1: float
      Lambda2: float
      /// The background distribution of Eq. 5 and its constant dummy score M' (the value is
      /// lost with Eq. 4: 0, the decision boundary of the raw scores, is ours).
      Background: BackgroundScore
      DummyScore: float
      Reduction: ConsistencyReduction
      /// Also apply L_cls to the pasted views (union labels for the foreground paste, the
      /// target's for the background paste). Eq. 6 names only L_cls of the training images: off.
      PasteClassification: bool
      /// Soft paste edge radius in pixels (0: hard paste; "random blending" is unspecified).
      FeatherRadius: int
      /// Background paste limited to the object's box grown by this margin (None: the whole
      /// source background; the paper does not say).
      BackgroundWindow: int option
      /// Stage 1: the model and how masks are read from it.
      Stage1: Stage1
      SourceMask: SourceMaskRule
      /// CAM scales of the stage-1 masks: one scale by default (multi-scale + flip costs seven
      /// times the forward passes over every single-label image).
      MaskScales: Evaluate.Scales
      /// Single-label images whose mask has fewer foreground pixels are not pasted.
      MinForegroundPixels: int
      /// The CAM baseline CSD is plugged into (stage 1 and stage 2 share it).
      Baseline: CamBaseline.Config }

module CsdConfig =
    let defaults =
        { CopyPaste = true
          Pairing = CooccurrenceResampling
          Cooccurrence = Cooccurrence.paper
          Lambda1 = 0.01
          Lambda2 = 0.1
          Background = DummyClass
          DummyScore = 0.0
          Reduction = MeanOverPixels
          PasteClassification = false
          FeatherRadius = 0
          BackgroundWindow = None
          Stage1 = TrainBaseline
          SourceMask = CamThreshold 0.3
          MaskScales = Evaluate.Scales.single
          MinForegroundPixels = 16
          Baseline = CamBaseline.defaults }

    /// The checks across fields (empty: the config is valid).
    let problems (c: CsdConfig) : string list =
        [ if c.Lambda1 < 0.0 || c.Lambda2 < 0.0 then $"lambda1 and lambda2 must be >= 0 (got {c.Lambda1}, {c.Lambda2})"
          if c.FeatherRadius < 0 then $"feather must be >= 0 (got {c.FeatherRadius})"
          match c.BackgroundWindow with
          | Some m when m < 0 -> $"bg_window must be >= 0 or none (got {m})"
          | _ -> ()
          match c.SourceMask with
          | CamThreshold t when not (t > 0.0 && t < 1.0) -> $"mask_threshold must lie in (0, 1) (got {t})"
          | _ -> ()
          if c.MinForegroundPixels < 1 then $"min_fg_pixels must be >= 1 (got {c.MinForegroundPixels})" ]

    /// CSD's settings table (`--set`, config files, run.json, `hybrid settings csd`): CSD's rows,
    /// then the baseline's it is plugged into.
    let table: SettingsTable<CsdConfig> =
        let cooc (c: CsdConfig) = c.Cooccurrence
        { Method = "csd"
          Defaults = defaults
          Rows =
            [ Setting.flag "copy_paste" "the dual consistency learning through copy-paste (off: the baseline row)" "component table" (fun c -> c.CopyPaste) (fun v c -> { c with CopyPaste = v })
              Setting.flag "resampling" "co-occurrence oriented resampling of the single-label partner (off: uniform)" "component table, Eq. 1-2"
                  (fun c -> c.Pairing = CooccurrenceResampling) (fun v c -> { c with Pairing = (if v then CooccurrenceResampling else UniformSource) })
              Setting.custom "cooccurrence" (Text "paper|smoothed|smoothed:<scale>") "Eq. 1's estimate of the prior: the paper's counts, or a smoothed softmax" "Eq. 1"
                  (fun v ->
                      match v.Trim().ToLowerInvariant() with
                      | "paper" -> Ok Normalised
                      | "smoothed" -> Ok(SmoothedSoftmax 0.1)
                      | x when x.StartsWith "smoothed:" -> Setting.parseFloat (x.Substring 9) |> Result.map SmoothedSoftmax
                      | _ -> Error "not one of paper, smoothed, smoothed:<scale>")
                  (function Normalised -> "paper" | SmoothedSoftmax t -> "smoothed:" + Setting.showFloat t)
                  Check.none (fun c -> (cooc c).Estimate) (fun v c -> { c with Cooccurrence = { cooc c with Estimate = v } })
              Setting.choice "diagonal" "the prior's diagonal: images with the class, single-label images, or zero" "Eq. 1 (ours: the paper is silent)"
                  [ "images", ImagesWithClass; "single", SingleLabelImages; "zero", ZeroDiagonal ] (fun c -> (cooc c).Diagonal) (fun v c -> { c with Cooccurrence = { cooc c with Diagonal = v } })
              Setting.float "lambda1" "weight of the foreground consistency L_fg" "Eq. 6, Fig. 6 (0.01)" Check.nonNegative (fun c -> c.Lambda1) (fun v c -> { c with Lambda1 = v })
              Setting.float "lambda2" "weight of the background consistency L_bg" "Eq. 6, Fig. 6 (0.1)" Check.nonNegative (fun c -> c.Lambda2) (fun v c -> { c with Lambda2 = v })
              Setting.choice "bg_score" "the background distribution of Eq. 5: a dummy class, or saliency sum vs dummy" "Eq. 4-5 (Eq. 4 is lost; MAP.md's reading)"
                  [ "dummy_class", DummyClass; "saliency_sum", SaliencySum ] (fun c -> c.Background) (fun v c -> { c with Background = v })
              Setting.float "dummy_score" "the constant dummy score M'" "Eq. 4 (value lost; 0 ours)" Check.none (fun c -> c.DummyScore) (fun v c -> { c with DummyScore = v })
              Setting.choice "reduction" "reduction of the per-pixel KL terms: sum over output cells, or mean over pixels" "Eq. 3, 5 (mean: ours)"
                  [ "mean", MeanOverPixels; "sum_cells", SumOverCells ] (fun c -> c.Reduction) (fun v c -> { c with Reduction = v })
              Setting.flag "paste_cls" "also apply L_cls to the pasted views" "ours (Eq. 6 names none: off)" (fun c -> c.PasteClassification) (fun v c -> { c with PasteClassification = v })
              Setting.int "feather" "soft paste edge radius in pixels (0: hard paste)" "ours (random blending unspecified)" (Check.atLeast 0) (fun c -> c.FeatherRadius) (fun v c -> { c with FeatherRadius = v })
              Setting.optionalInt "bg_window" "none" "background paste limited to the object's box grown by this margin" "ours (none)" 0
                  (fun c -> c.BackgroundWindow) (fun v c -> { c with BackgroundWindow = v })
              Setting.custom "stage1" (Text "train|<cam run folder>") "the stage-1 model: trained in the run, or a finished cam run's folder" "Sec. 3 (two stages)"
                  (fun v -> if v.Trim().ToLowerInvariant() = "train" then Ok TrainBaseline elif v.Trim() = "" then Error "not train nor a folder" else Ok(FromRun(v.Trim())))
                  (function TrainBaseline -> "train" | FromRun d -> d)
                  Check.none (fun c -> c.Stage1) (fun v c -> { c with Stage1 = v })
              // two keys set the one source-mask rule
              Setting.custom "source_masks" (Choice [ "cam"; "pseudo"; "gt_oracle" ]) "single-label masks from the CAM, the stage-1 method's pseudo masks, or GT (an oracle, not weak)" "Sec. 3.2"
                  (fun v ->
                      match v.Trim().ToLowerInvariant() with
                      | "cam" -> Ok None
                      | "pseudo" -> Ok(Some MethodPseudo)
                      | "gt_oracle" -> Ok(Some GroundTruthOracle)
                      | _ -> Error "not one of cam, pseudo, gt_oracle")
                  (function None -> "cam" | Some MethodPseudo -> "pseudo" | Some _ -> "gt_oracle")
                  Check.none
                  (fun c -> match c.SourceMask with CamThreshold _ -> None | r -> Some r)
                  (fun v c ->
                      match v with
                      | Some r -> { c with SourceMask = r }
                      | None -> { c with SourceMask = (match c.SourceMask with CamThreshold _ -> c.SourceMask | _ -> CamThreshold 0.3) })
              Setting.custom "mask_threshold" Number "CAM threshold of the single-label masks (sets source_masks=cam)" "Sec. 3.2 (0.3 ours)"
                  Setting.parseFloat Setting.showFloat Check.openUnit
                  (fun c -> match c.SourceMask with CamThreshold t -> t | _ -> 0.3)
                  (fun v c -> { c with SourceMask = CamThreshold v })
              Setting.choice "mask_scales" "CAM scales of the stage-1 masks: one, or multi-scale + flip" "ours (single)"
                  [ "single", Evaluate.Scales.single; "multi", Evaluate.Scales.multi ] (fun c -> c.MaskScales) (fun v c -> { c with MaskScales = v })
              Setting.int "min_fg_pixels" "single-label images whose mask has fewer foreground pixels are not pasted" "ours (16)" (Check.atLeast 1) (fun c -> c.MinForegroundPixels) (fun v c -> { c with MinForegroundPixels = v }) ]
            @ (CamBaseline.table.Rows |> List.map (Setting.within "" (fun c -> c.Baseline) (fun b c -> { c with Baseline = b })))
          Validate = problems }

    /// One `--set key=value`.
    let set (key: string) (value: string) (c: CsdConfig) : CsdConfig = SettingsTable.set table key value c

    /// The config when it holds together, else SettingsError naming every problem.
    let validate (c: CsdConfig) = SettingsTable.validate table c
