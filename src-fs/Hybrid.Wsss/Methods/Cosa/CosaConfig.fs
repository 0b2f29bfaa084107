namespace Hybrid.Wsss.Methods.Cosa

open System
open System.Globalization
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Thresholds

/// What guides the online network's CAMs (CoSA Sec. 3.1 and Tab. 4a "Source"). The Tab. 3
/// switch "GC" (guided CAMs) is on for every case but `NoGuidance`.
type Guidance =
    /// no Seg2CAM term: the CAMs learn from the image labels only ("NO" in Tab. 4a)
    | NoGuidance
    /// segmentation pseudo labels of the assignment network (Eq. 7-8): CoSA
    | FromSpl
    /// the ground-truth masks (the oracle of Fig. 1 / Tab. 4a "GT"); needs Batch.Masks
    | FromGroundTruth

/// What the guidance gradient may not change (Tab. 4a "Detach": stop the gradient of the
/// Seg2CAM term into the feature map F or into the classifier weights W_fc).
type GuidanceDetach =
    | DetachNothing
    | DetachFeatures
    | DetachWeights

/// The form of the contrastive separation loss.
type SeparationForm =
    /// Eq. 10 as printed: each positive pair competes with the anchor's negatives only,
    /// -log(L_p / (L_p + sum_n L_n)), averaged over the positives and then the anchors.
    | PositivePairs
    /// the shared supervised InfoNCE (Losses.infoNce): the denominator holds every other
    /// sample of the anchor, positives included.
    | SupervisedInfoNce

/// Which of the two networks answers predictions (CAMs, segmentation, pseudo masks). CoSA's
/// public code evaluates both and keeps the better; the paper reports the assignment network
/// to be the better one late in training (Fig. 8).
type PredictingNetwork =
    | AssignmentNetwork
    | OnlineNetwork

/// The LargeFOV segmentation head's widths (Hybrid.Vision.Heads.LargeFovConfig).
type SegmentationHead =
    { Hidden: int
      Dilation: int
      /// 1 (DeepLab v1) or 3 (ToCo / CoSA)
      Fc7Kernel: int }

/// Every setting of CoSA, defaults from the paper's implementation details (Sec. 4.1) and,
/// where the paper is silent, from its public code (said so per field).
/// When guidance (the pseudo-label terms) starts.
type Warmup =
    /// after a fixed number of steps (the paper: 2k iterations before guidance, Fig. 1)
    | WarmupSteps of int
    /// after a fraction of the run's steps: at a CPU budget of a few hundred steps the paper's
    /// 2k would be the whole run, so the default keeps guidance on for most of it
    | WarmupFraction of float

module Warmup =
    /// The first step with guidance in a run of `total` steps.
    let steps (total: int) (w: Warmup) : int =
        match w with
        | WarmupSteps n -> n
        | WarmupFraction f -> int (Math.Round(f * float total))

    /// "2000" (steps) or "0.1" (a fraction of the run, in [0, 1)).
    let parse (key: string) (value: string) : Warmup =
        let v = value.Trim()
        match Int32.TryParse(v, Globalization.NumberStyles.Integer, Globalization.CultureInfo.InvariantCulture) with
        | true, n -> WarmupSteps n
        | _ ->
            match Double.TryParse(v, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
            | true, f -> WarmupFraction f
            | _ -> invalidArg key (sprintf "--set %s=%s: expected steps (an integer, e.g. 2000) or a fraction of the run (e.g. 0.1)" key value)

/// m of the assignment network's update AN <- m AN + (1 - m) ON.
type AssignmentMomentum =
    /// a constant m (Sec. 4.1: 0.9994)
    | FixedMomentum of float
    /// m = 1 - 1 / (f T) for a run of T steps: the EMA horizon 1 / (1 - m) the same fraction f
    /// of the run at any budget. The paper's 0.9994 (horizon 1,667 steps) over the public
    /// code's 32,000 VOC iterations (run_voc.sh) is f = 0.052.
    | HorizonFraction of float

module AssignmentMomentum =
    /// The paper's horizon as a fraction of the public code's VOC run: 1 / (1 - 0.9994) / 32000.
    let paperFraction = 1.0 / (1.0 - 0.9994) / 32000.0

    /// The momentum as a schedule over the run.
    let schedule (m: AssignmentMomentum) : Schedule =
        match m with
        | FixedMomentum v -> EmaMomentum.constant v
        | HorizonFraction f -> EmaMomentum.horizonFraction f

type CosaConfig =
    { /// Tab. 3 GC and Tab. 4a source.
      Guidance: Guidance
      /// Tab. 4a detach.
      Detach: GuidanceDetach
      /// Tab. 3 SA: the assignment network (EMA) produces CPL and SPL; off, the online network
      /// produces them from its own (no-gradient) predictions on the weak view.
      SwapAssignments: bool
      /// Tab. 3 RAW: reliability weights (Eq. 4-5) on the CAM2Seg cross entropy.
      ReliabilityWeighting: bool
      /// Tab. 3 CSC: contrastive separation in CAMs (Eq. 9-10).
      ContrastiveSeparation: bool
      /// Tab. 3 DT: the GMM threshold (Eq. 6) instead of the fixed one.
      DynamicThreshold: bool
      /// xi: the fixed threshold, and the dynamic one's value before its first fit. 0.5 is the
      /// threshold of the paper's Fig. 3 analysis and the public code's bkg_thre.
      Threshold: float
      /// GMM queue length in batches (Sec. 4.1: 100).
      QueueLength: int
      /// Confidences <= this are not queued for the GMM: the many exact zeros of a normalised
      /// CAM would otherwise pull one component onto a spike at 0 (public code: 0.05).
      ConfidenceFloor: float
      /// m of the assignment network AN <- m AN + (1 - m) ON. The paper's 0.9994 is a horizon
      /// of 1,667 steps in a 32k-step run; the default keeps that share of the run at any budget
      /// (m = 0.952 at 400 steps, 0.9936 at 3,000), since at a CPU budget the constant leaves
      /// the AN 79% at its initialisation after 400 steps (paper-repro/cosa/README.md);
      /// `momentum=0.9994` sets the constant.
      Momentum: AssignmentMomentum
      /// When the pseudo-label terms (CAM2Seg, Seg2CAM, CSC) are switched on (paper: a
      /// 2k-iteration warm-up before guidance; default here 10% of the run, see Warmup).
      Warmup: Warmup
      /// (lambda_alpha, lambda_beta) of Eq. 4 = (0.8, 1).
      Perplexity: PerplexityParams
      /// epsilon of the low-perplexity region (Eq. 9): 1.
      LowPerplexityBound: float
      /// tau of the SPL softmax (Eq. 7): 0.01.
      SplTemperature: float
      /// tau of the InfoNCE in Eq. 10 (the paper gives no value; 0.1 is our choice).
      SeparationTemperature: float
      /// At most this many anchors per step for Eq. 10, sampled evenly over the CPL classes
      /// present in the region (memory stays O(N^2) in this bound, not in the image size).
      SeparationPixels: int
      SeparationForm: SeparationForm
      /// Loss weights of Eq. 11: (lambda_c2s, lambda_s2c, lambda_csc) = (0.1, 0.05, 0.1).
      WeightC2s: float
      WeightS2c: float
      WeightCsc: float
      /// Scales of the assignment network's pseudo-label forward (public code: 1.0, 0.5, 1.5,
      /// each with its horizontal flip).
      PseudoScales: float list
      PseudoFlip: bool
      /// Learning-rate multiplier of the new layers (classifiers and segmentation head) over
      /// the backbone (public code: 10).
      HeadLrMultiplier: float
      SegmentationHead: SegmentationHead
      Predicting: PredictingNetwork }

module CosaConfig =
    /// The LargeFOV decoder of CoSA's public code (512 channels, dilation 5, 3x3 fc7).
    let cosaHead = { Hidden = 512; Dilation = 5; Fc7Kernel = 3 }

    let defaults =
        { Guidance = FromSpl
          Detach = DetachNothing
          SwapAssignments = true
          ReliabilityWeighting = true
          ContrastiveSeparation = true
          DynamicThreshold = true
          Threshold = 0.5
          QueueLength = ConfidenceQueue.defaultCapacity
          ConfidenceFloor = 0.05
          Momentum = HorizonFraction AssignmentMomentum.paperFraction
          Warmup = WarmupFraction 0.1
          Perplexity = Perplexity.cosa
          LowPerplexityBound = Perplexity.cosaLowPerplexityBound
          SplTemperature = 0.01
          SeparationTemperature = 0.1
          SeparationPixels = 1024
          SeparationForm = PositivePairs
          WeightC2s = 0.1
          WeightS2c = 0.05
          WeightCsc = 0.1
          PseudoScales = [ 1.0; 0.5; 1.5 ]
          PseudoFlip = true
          HeadLrMultiplier = 10.0
          SegmentationHead = cosaHead
          Predicting = AssignmentNetwork }

    /// GC of Tab. 3.
    let guided (cfg: CosaConfig) = cfg.Guidance <> NoGuidance

    /// The five switches of Tab. 3 (GC, SA, RAW, CSC, DT) at once; GC on means SPL guidance.
    let withSwitches (gc: bool) (sa: bool) (raw: bool) (csc: bool) (dt: bool) (cfg: CosaConfig) =
        { cfg with
            Guidance = (if gc then FromSpl else NoGuidance)
            SwapAssignments = sa
            ReliabilityWeighting = raw
            ContrastiveSeparation = csc
            DynamicThreshold = dt }

    /// Checks the settings; a clear message per problem.
    let validate (cfg: CosaConfig) : CosaConfig =
        let problems =
            [ if not (cfg.Threshold > 0.0 && cfg.Threshold < 1.0) then sprintf "threshold must lie in (0, 1), got %g" cfg.Threshold
              if cfg.QueueLength < 1 then sprintf "queue must be >= 1 batch, got %d" cfg.QueueLength
              if not (cfg.ConfidenceFloor >= 0.0 && cfg.ConfidenceFloor < 1.0) then sprintf "confidence-floor must lie in [0, 1), got %g" cfg.ConfidenceFloor
              match cfg.Momentum with
              | FixedMomentum m when not (m >= 0.0 && m <= 1.0) -> sprintf "momentum must lie in [0, 1], got %g" m
              | HorizonFraction f when not (f > 0.0 && f <= 1.0) -> sprintf "momentum-horizon must lie in (0, 1], got %g" f
              | _ -> ()
              match cfg.Warmup with
              | WarmupSteps n when n < 0 -> sprintf "warmup must be >= 0 steps, got %d" n
              | WarmupFraction f when not (f >= 0.0 && f < 1.0) -> sprintf "a warmup fraction must lie in [0, 1), got %g" f
              | _ -> ()
              if not (cfg.Perplexity.Alpha > 0.0 && cfg.Perplexity.Alpha < 1.0) then sprintf "lambda-alpha must lie in (0, 1), got %g" cfg.Perplexity.Alpha
              if not (cfg.Perplexity.Beta > 0.0) then sprintf "lambda-beta must be > 0, got %g" cfg.Perplexity.Beta
              if not (cfg.LowPerplexityBound > 0.0) then sprintf "epsilon must be > 0, got %g" cfg.LowPerplexityBound
              if not (cfg.SplTemperature > 0.0) then sprintf "spl-tau must be > 0, got %g" cfg.SplTemperature
              if not (cfg.SeparationTemperature > 0.0) then sprintf "csc-tau must be > 0, got %g" cfg.SeparationTemperature
              if cfg.SeparationPixels < 2 then sprintf "csc-pixels must be >= 2, got %d" cfg.SeparationPixels
              for name, w in [ "w-c2s", cfg.WeightC2s; "w-s2c", cfg.WeightS2c; "w-csc", cfg.WeightCsc ] do
                  if not (w >= 0.0) || Double.IsInfinity w then sprintf "%s must be a finite weight >= 0, got %g" name w
              if List.isEmpty cfg.PseudoScales then "scales needs at least one scale"
              for s in cfg.PseudoScales do
                  if not (s > 0.0) then sprintf "scales must be > 0, got %g" s
              if not (cfg.HeadLrMultiplier > 0.0) then sprintf "head-lr must be > 0, got %g" cfg.HeadLrMultiplier
              if cfg.SegmentationHead.Hidden < 1 then sprintf "head-hidden must be >= 1, got %d" cfg.SegmentationHead.Hidden
              if cfg.SegmentationHead.Dilation < 1 then sprintf "head-dilation must be >= 1, got %d" cfg.SegmentationHead.Dilation
              if cfg.SegmentationHead.Fc7Kernel <> 1 && cfg.SegmentationHead.Fc7Kernel <> 3 then
                  sprintf "head-fc7 must be 1 or 3, got %d" cfg.SegmentationHead.Fc7Kernel ]
        if List.isEmpty problems then cfg
        else invalidArg "cfg" ("CoSA settings: " + String.Join("; ", problems))

    let private parseBool key (v: string) =
        match v.Trim().ToLowerInvariant() with
        | "true" | "on" | "yes" | "1" -> true
        | "false" | "off" | "no" | "0" -> false
        | _ -> invalidArg key (sprintf "%s expects true/false (on/off), got '%s'" key v)

    let private parseFloat key (v: string) =
        match Double.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> invalidArg key (sprintf "%s expects a number, got '%s'" key v)

    let private parseInt key (v: string) =
        match Int32.TryParse(v.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> invalidArg key (sprintf "%s expects an integer, got '%s'" key v)

    let private choose key (v: string) (cases: (string * 'T) list) =
        match cases |> List.tryFind (fun (n, _) -> n = v.Trim().ToLowerInvariant()) with
        | Some(_, c) -> c
        | None -> invalidArg key (sprintf "%s expects one of %s, got '%s'" key (String.Join(", ", List.map fst cases)) v)

    /// Every key of `set`, with what it means.
    let keys: (string * string) list =
        [ "gc", "Tab. 3 guided CAMs: true = SPL guidance, false = none"
          "guidance", "Tab. 4a source: spl | gt | none"
          "detach", "Tab. 4a: none | features | weights"
          "sa", "Tab. 3 swapping assignments (true/false)"
          "raw", "Tab. 3 reliability weighting (true/false)"
          "csc", "Tab. 3 contrastive separation (true/false)"
          "dt", "Tab. 3 dynamic threshold (true/false)"
          "threshold", "xi, fixed value / initial dynamic value (0.5)"
          "queue", "GMM queue length in batches (100)"
          "confidence-floor", "confidences not queued for the GMM (0.05)"
          "momentum", "EMA momentum of the assignment network, a constant (the paper: 0.9994)"
          "momentum-horizon", "the EMA horizon 1/(1-m) as a fraction of the run (default 0.052: the paper's 0.9994 over 32k steps)"
          "warmup", "when the pseudo-label terms start: steps (the paper: 2000) or a fraction of the run (default 0.1)"
          "lambda-alpha", "perplexity lambda_alpha (0.8)"
          "lambda-beta", "perplexity lambda_beta (1)"
          "epsilon", "low-perplexity bound of CSC (1)"
          "spl-tau", "SPL softmax temperature (0.01)"
          "csc-tau", "CSC InfoNCE temperature (0.1)"
          "csc-pixels", "CSC anchors per step (1024)"
          "csc-form", "pairs (Eq. 10) | infonce (shared supervised InfoNCE)"
          "w-c2s", "lambda_c2s (0.1)"
          "w-s2c", "lambda_s2c (0.05)"
          "w-csc", "lambda_csc (0.1)"
          "scales", "pseudo-label scales, comma separated (1.0,0.5,1.5)"
          "flip", "pseudo labels also from the flipped view (true)"
          "head-lr", "lr multiplier of classifiers and segmentation head (10)"
          "head-hidden", "LargeFOV channels (512)"
          "head-dilation", "LargeFOV dilation (5)"
          "head-fc7", "LargeFOV fc7 kernel 1 or 3 (3)"
          "predict", "network answering predictions: an | on" ]

    /// Sets one key from its text (the CLI's `--set key=value`); the result is validated.
    let set (key: string) (value: string) (cfg: CosaConfig) : CosaConfig =
        let k = key.Trim().ToLowerInvariant()
        let updated =
            match k with
            | "gc" -> { cfg with Guidance = (if parseBool k value then FromSpl else NoGuidance) }
            | "guidance" -> { cfg with Guidance = choose k value [ "spl", FromSpl; "gt", FromGroundTruth; "none", NoGuidance ] }
            | "detach" -> { cfg with Detach = choose k value [ "none", DetachNothing; "features", DetachFeatures; "weights", DetachWeights ] }
            | "sa" -> { cfg with SwapAssignments = parseBool k value }
            | "raw" -> { cfg with ReliabilityWeighting = parseBool k value }
            | "csc" -> { cfg with ContrastiveSeparation = parseBool k value }
            | "dt" -> { cfg with DynamicThreshold = parseBool k value }
            | "threshold" -> { cfg with Threshold = parseFloat k value }
            | "queue" -> { cfg with QueueLength = parseInt k value }
            | "confidence-floor" -> { cfg with ConfidenceFloor = parseFloat k value }
            | "momentum" -> { cfg with Momentum = FixedMomentum(parseFloat k value) }
            | "momentum-horizon" -> { cfg with Momentum = HorizonFraction(parseFloat k value) }
            | "warmup" -> { cfg with Warmup = Warmup.parse k value }
            | "lambda-alpha" -> { cfg with Perplexity = { cfg.Perplexity with Alpha = parseFloat k value } }
            | "lambda-beta" -> { cfg with Perplexity = { cfg.Perplexity with Beta = parseFloat k value } }
            | "epsilon" -> { cfg with LowPerplexityBound = parseFloat k value }
            | "spl-tau" -> { cfg with SplTemperature = parseFloat k value }
            | "csc-tau" -> { cfg with SeparationTemperature = parseFloat k value }
            | "csc-pixels" -> { cfg with SeparationPixels = parseInt k value }
            | "csc-form" -> { cfg with SeparationForm = choose k value [ "pairs", PositivePairs; "infonce", SupervisedInfoNce ] }
            | "w-c2s" -> { cfg with WeightC2s = parseFloat k value }
            | "w-s2c" -> { cfg with WeightS2c = parseFloat k value }
            | "w-csc" -> { cfg with WeightCsc = parseFloat k value }
            | "scales" ->
                { cfg with PseudoScales = value.Split(',', StringSplitOptions.RemoveEmptyEntries) |> Array.map (parseFloat k) |> List.ofArray }
            | "flip" -> { cfg with PseudoFlip = parseBool k value }
            | "head-lr" -> { cfg with HeadLrMultiplier = parseFloat k value }
            | "head-hidden" -> { cfg with SegmentationHead = { cfg.SegmentationHead with Hidden = parseInt k value } }
            | "head-dilation" -> { cfg with SegmentationHead = { cfg.SegmentationHead with Dilation = parseInt k value } }
            | "head-fc7" -> { cfg with SegmentationHead = { cfg.SegmentationHead with Fc7Kernel = parseInt k value } }
            | "predict" -> { cfg with Predicting = choose k value [ "an", AssignmentNetwork; "on", OnlineNetwork ] }
            | _ ->
                invalidArg "key" (sprintf "CoSA has no setting '%s'; valid keys: %s" key (String.Join(", ", List.map fst keys)))
        validate updated
