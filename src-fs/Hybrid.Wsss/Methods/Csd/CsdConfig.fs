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

    /// The `--set` keys and their value forms.
    let keys =
        [ "copy_paste", "on|off"
          "resampling", "on|off"
          "cooccurrence", "paper|smoothed|smoothed:<scale>"
          "diagonal", "images|single|zero"
          "lambda1", "float"
          "lambda2", "float"
          "bg_score", "dummy_class|saliency_sum"
          "dummy_score", "float"
          "reduction", "sum_cells|mean"
          "paste_cls", "on|off"
          "feather", "int"
          "bg_window", "int|none"
          "stage1", "train|<cam run folder>"
          "source_masks", "cam|pseudo|gt_oracle"
          "mask_threshold", "float"
          "mask_scales", "multi|single"
          "min_fg_pixels", "int"
          "pooling", "gap|gmp"
          "loss", "mlsm|bce"
          "new_layer_lr", "float" ]

    /// `--set key=value` for this config (unknown key or value: an error listing the valid keys).
    let set (key: string) (value: string) (c: CsdConfig) : CsdConfig =
        let v = value.Trim()
        match key.ToLowerInvariant(), v.ToLowerInvariant() with
        | "copy_paste", b -> { c with CopyPaste = Config.parseBool key b }
        | "resampling", b -> { c with Pairing = (if Config.parseBool key b then CooccurrenceResampling else UniformSource) }
        | "cooccurrence", "paper" -> { c with Cooccurrence = { c.Cooccurrence with Estimate = Normalised } }
        | "cooccurrence", "smoothed" -> { c with Cooccurrence = { c.Cooccurrence with Estimate = SmoothedSoftmax 0.1 } }
        | "cooccurrence", s when s.StartsWith "smoothed:" ->
            { c with Cooccurrence = { c.Cooccurrence with Estimate = SmoothedSoftmax(Config.parseFloat key (s.Substring 9)) } }
        | "diagonal", "images" -> { c with Cooccurrence = { c.Cooccurrence with Diagonal = ImagesWithClass } }
        | "diagonal", "single" -> { c with Cooccurrence = { c.Cooccurrence with Diagonal = SingleLabelImages } }
        | "diagonal", "zero" -> { c with Cooccurrence = { c.Cooccurrence with Diagonal = ZeroDiagonal } }
        | "lambda1", x -> { c with Lambda1 = Config.parseFloat key x }
        | "lambda2", x -> { c with Lambda2 = Config.parseFloat key x }
        | "bg_score", "dummy_class" -> { c with Background = DummyClass }
        | "bg_score", "saliency_sum" -> { c with Background = SaliencySum }
        | "dummy_score", x -> { c with DummyScore = Config.parseFloat key x }
        | "reduction", "sum_cells" -> { c with Reduction = SumOverCells }
        | "reduction", "mean" -> { c with Reduction = MeanOverPixels }
        | "paste_cls", b -> { c with PasteClassification = Config.parseBool key b }
        | "feather", x -> { c with FeatherRadius = Config.parseInt key x }
        | "bg_window", "none" -> { c with BackgroundWindow = None }
        | "bg_window", x -> { c with BackgroundWindow = Some(Config.parseInt key x) }
        | "stage1", "train" -> { c with Stage1 = TrainBaseline }
        | "stage1", _ -> { c with Stage1 = FromRun v }
        | "source_masks", "cam" ->
            { c with SourceMask = (match c.SourceMask with CamThreshold _ -> c.SourceMask | _ -> CamThreshold 0.3) }
        | "source_masks", "pseudo" -> { c with SourceMask = MethodPseudo }
        | "source_masks", "gt_oracle" -> { c with SourceMask = GroundTruthOracle }
        | "mask_threshold", x -> { c with SourceMask = CamThreshold(Config.parseFloat key x) }
        | "mask_scales", "multi" -> { c with MaskScales = Evaluate.Scales.multi }
        | "mask_scales", "single" -> { c with MaskScales = Evaluate.Scales.single }
        | "min_fg_pixels", x -> { c with MinForegroundPixels = Config.parseInt key x }
        | ("pooling" | "loss" | "new_layer_lr"), _ ->
            (try { c with Baseline = CamBaseline.set key value c.Baseline }
             with :? System.ArgumentException -> Config.unknown "csd" keys key value)
        | k, x -> Config.unknown "csd" keys k x

    /// Checks the values a `set` cannot check alone.
    let validate (c: CsdConfig) =
        let fail (m: string) = invalidArg "csd" m
        if c.Lambda1 < 0.0 || c.Lambda2 < 0.0 then fail $"lambda1 and lambda2 must be >= 0 (got {c.Lambda1}, {c.Lambda2})"
        if c.FeatherRadius < 0 then fail $"feather must be >= 0 (got {c.FeatherRadius})"
        match c.BackgroundWindow with
        | Some m when m < 0 -> fail $"bg_window must be >= 0 or none (got {m})"
        | _ -> ()
        match c.SourceMask with
        | CamThreshold t when not (t > 0.0 && t < 1.0) -> fail $"mask_threshold must lie in (0, 1) (got {t})"
        | _ -> ()
        if c.MinForegroundPixels < 1 then fail $"min_fg_pixels must be >= 1 (got {c.MinForegroundPixels})"
        c
