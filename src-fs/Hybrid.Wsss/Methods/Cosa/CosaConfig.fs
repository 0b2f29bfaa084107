namespace Hybrid.Wsss.Methods.Cosa

open System
open System.Globalization
open Hybrid.Vision.Heads
open Hybrid.Wsss.Schedules
open Hybrid.Wsss.Thresholds
open Hybrid.Wsss.Training

/// What guides the online network's CAMs (CoSA Sec. 3.1 and Tab. 4a "Source"). The Tab. 3
/// switch "GC" (guided CAMs) is on for every case but `NoGuidance`.
type Guidance =
    /// no Seg2CAM term: the CAMs learn from the image labels only ("NO" in Tab. 4a)
    | NoGuidance
    /// segmentation pseudo labels of the assignment network (Eq. 7-8): CoSA
    | FromSpl
    /// the ground-truth masks (the oracle of Fig. 1 / Tab. 4a "GT"); needs Batch.Masks
    | FromGroundTruth

/// How CAM2Seg averages its per-pixel losses.
type C2sReduction =
    /// over every labelled pixel (Eq. 5)
    | AllPixels
    /// over the background and the foreground pixels separately, 0.5 each (the public code)
    | BackgroundForegroundHalves

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
    let parse (value: string) : Result<Warmup, string> =
        match Hybrid.Wsss.Training.Setting.parseInt value, Hybrid.Wsss.Training.Setting.parseFloat value with
        | Ok n, _ -> Ok(WarmupSteps n)
        | _, Ok f -> Ok(WarmupFraction f)
        | _ -> Error "not steps (an integer, e.g. 2000) nor a fraction of the run (e.g. 0.1)"

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
      /// Tab. 4a "Detach": what the Seg2CAM gradient may not change, the feature map F or the
      /// classifier weights W_fc (None, Features or Weights of the classifier's CamDetach).
      Detach: CamDetach
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
      /// The weight of L_c2s(M-dagger), the segmentation learning the auxiliary CAM's CPL:
      /// Eq. 11 gives it lambda_c2s (0.1); 0 drops the term (an ablation, issue 22 suspect 3).
      WeightC2sAux: float
      /// How CAM2Seg averages its pixels: over all of them (Eq. 5) or the background and the
      /// foreground halves separately (the public code).
      C2sReduction: C2sReduction
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
      Predicting: PredictingNetwork
      /// The online network trains on the strong view (Sec. 3.1; the loader makes it) or, for
      /// the ablation, on the weak view the assignment network labels.
      OnlineStrongView: bool }

module CosaConfig =
    /// The LargeFOV decoder of CoSA's public code (512 channels, dilation 5, 3x3 fc7).
    let cosaHead = { Hidden = 512; Dilation = 5; Fc7Kernel = 3 }

    let defaults =
        { Guidance = FromSpl
          Detach = CamDetach.None
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
          WeightC2sAux = 0.1
          C2sReduction = AllPixels
          WeightS2c = 0.05
          WeightCsc = 0.1
          PseudoScales = [ 1.0; 0.5; 1.5 ]
          PseudoFlip = true
          HeadLrMultiplier = 10.0
          SegmentationHead = cosaHead
          Predicting = AssignmentNetwork
          OnlineStrongView = true }

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

    /// The problems of a config (empty: valid), one clear message each.
    let problems (cfg: CosaConfig) : string list =
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
          for name, w in [ "w-c2s", cfg.WeightC2s; "w-c2s-aux", cfg.WeightC2sAux; "w-s2c", cfg.WeightS2c; "w-csc", cfg.WeightCsc ] do
              if not (w >= 0.0) || Double.IsInfinity w then sprintf "%s must be a finite weight >= 0, got %g" name w
          if List.isEmpty cfg.PseudoScales then "scales needs at least one scale"
          for s in cfg.PseudoScales do
              if not (s > 0.0) then sprintf "scales must be > 0, got %g" s
          if not (cfg.HeadLrMultiplier > 0.0) then sprintf "head-lr must be > 0, got %g" cfg.HeadLrMultiplier
          if cfg.SegmentationHead.Hidden < 1 then sprintf "head-hidden must be >= 1, got %d" cfg.SegmentationHead.Hidden
          if cfg.SegmentationHead.Dilation < 1 then sprintf "head-dilation must be >= 1, got %d" cfg.SegmentationHead.Dilation
          if cfg.SegmentationHead.Fc7Kernel <> 1 && cfg.SegmentationHead.Fc7Kernel <> 3 then
              sprintf "head-fc7 must be 1 or 3, got %d" cfg.SegmentationHead.Fc7Kernel ]

    let private head (cfg: CosaConfig) = cfg.SegmentationHead

    /// CoSA's settings table (`--set`, config files, run.json, `hybrid settings cosa`). The
    /// rows parse and show; `problems` checks the ranges of the whole config.
    let table: SettingsTable<CosaConfig> =
        let float name doc paper get set = Setting.float name doc paper Check.none get set
        let int name doc paper get set = Setting.int name doc paper Check.none get set
        { Method = "cosa"
          Defaults = defaults
          Rows =
            [ Setting.flag "gc" "guided CAMs: true = SPL guidance (Seg2CAM), false = none" "Tab. 3 GC" guided (fun v c -> { c with Guidance = (if v then FromSpl else NoGuidance) })
              Setting.choice "guidance" "source of the CAM guidance: SPL, the ground truth (an oracle) or none" "Tab. 4a source"
                  [ "spl", FromSpl; "gt", FromGroundTruth; "none", NoGuidance ] (fun c -> c.Guidance) (fun v c -> { c with Guidance = v })
              Setting.choice "detach" "stop the guidance gradient into the features F or the classifier W_fc" "Tab. 4a detach"
                  [ "none", CamDetach.None; "features", CamDetach.Features; "weights", CamDetach.Weights ] (fun c -> c.Detach) (fun v c -> { c with Detach = v })
              Setting.flag "sa" "swapping assignments: the EMA assignment network labels the online one" "Tab. 3 SA" (fun c -> c.SwapAssignments) (fun v c -> { c with SwapAssignments = v })
              Setting.flag "raw" "reliability-adaptive weighting of the CAM2Seg loss" "Tab. 3 RAW, Eq. 4-5" (fun c -> c.ReliabilityWeighting) (fun v c -> { c with ReliabilityWeighting = v })
              Setting.flag "csc" "contrastive separation in CAMs" "Tab. 3 CSC, Eq. 9-10" (fun c -> c.ContrastiveSeparation) (fun v c -> { c with ContrastiveSeparation = v })
              Setting.flag "dt" "dynamic (GMM) background threshold instead of the fixed one" "Tab. 3 DT, Eq. 6" (fun c -> c.DynamicThreshold) (fun v c -> { c with DynamicThreshold = v })
              float "threshold" "xi: the fixed threshold, and the dynamic one before its first fit" "Fig. 3; public code bkg_thre (0.5)" (fun c -> c.Threshold) (fun v c -> { c with Threshold = v })
              int "queue" "GMM confidence queue length in batches" "Sec. 4.1 (100)" (fun c -> c.QueueLength) (fun v c -> { c with QueueLength = v })
              float "confidence-floor" "confidences at or below this are not queued for the GMM" "public code (0.05)" (fun c -> c.ConfidenceFloor) (fun v c -> { c with ConfidenceFloor = v })
              // two keys set the one momentum: each shows its value when it is the form in use
              Setting.custom "momentum" Number "a constant EMA momentum m of the assignment network" "Sec. 4.1 (0.9994)"
                  (Setting.parseFloat >> Result.map FixedMomentum)
                  (function FixedMomentum m -> Setting.showFloat m | HorizonFraction _ -> "(set by momentum-horizon)")
                  Check.none (fun c -> c.Momentum) (fun v c -> { c with Momentum = v })
              Setting.custom "momentum-horizon" Number "the EMA horizon 1/(1-m) as a fraction of the run (the default keeps the paper's 0.9994 over 32k steps)" "Sec. 4.1; run_voc.sh 32k steps (0.052)"
                  (Setting.parseFloat >> Result.map HorizonFraction)
                  (function HorizonFraction f -> Setting.showFloat f | FixedMomentum _ -> "(set by momentum)")
                  Check.none (fun c -> c.Momentum) (fun v c -> { c with Momentum = v })
              Setting.custom "warmup" (Text "steps (int) or a fraction of the run") "when the pseudo-label terms start" "Fig. 1: 2k iterations (default 0.1 of the run)"
                  Warmup.parse
                  (function WarmupSteps n -> string n | WarmupFraction f -> Setting.showFloat f)
                  Check.none (fun c -> c.Warmup) (fun v c -> { c with Warmup = v })
              float "lambda-alpha" "perplexity lambda_alpha" "Eq. 4 (0.8)" (fun c -> c.Perplexity.Alpha) (fun v c -> { c with Perplexity = { c.Perplexity with Alpha = v } })
              float "lambda-beta" "perplexity lambda_beta" "Eq. 4 (1)" (fun c -> c.Perplexity.Beta) (fun v c -> { c with Perplexity = { c.Perplexity with Beta = v } })
              float "epsilon" "low-perplexity bound of CSC" "Eq. 9 (1)" (fun c -> c.LowPerplexityBound) (fun v c -> { c with LowPerplexityBound = v })
              float "spl-tau" "SPL softmax temperature" "Eq. 7 (0.01)" (fun c -> c.SplTemperature) (fun v c -> { c with SplTemperature = v })
              float "csc-tau" "CSC InfoNCE temperature" "Eq. 10 (the paper gives none; 0.1 ours)" (fun c -> c.SeparationTemperature) (fun v c -> { c with SeparationTemperature = v })
              int "csc-pixels" "CSC anchors per step" "ours (1024)" (fun c -> c.SeparationPixels) (fun v c -> { c with SeparationPixels = v })
              Setting.choice "csc-form" "Eq. 10 as printed (pairs) or the shared supervised InfoNCE" "Eq. 10"
                  [ "pairs", PositivePairs; "infonce", SupervisedInfoNce ] (fun c -> c.SeparationForm) (fun v c -> { c with SeparationForm = v })
              float "w-c2s" "lambda_c2s" "Eq. 11 (0.1)" (fun c -> c.WeightC2s) (fun v c -> { c with WeightC2s = v })
              float "w-c2s-aux" "weight of L_c2s(M-dagger), the segmentation learning the auxiliary CAM's CPL" "Eq. 11 (lambda_c2s, 0.1)" (fun c -> c.WeightC2sAux) (fun v c -> { c with WeightC2sAux = v })
              Setting.choice "c2s-reduce" "CAM2Seg's average: over all pixels, or background and foreground halves (0.5 each)" "Eq. 5 (all); public code (halves)"
                  [ "all", AllPixels; "halves", BackgroundForegroundHalves ] (fun c -> c.C2sReduction) (fun v c -> { c with C2sReduction = v })
              float "w-s2c" "lambda_s2c" "Eq. 11 (0.05)" (fun c -> c.WeightS2c) (fun v c -> { c with WeightS2c = v })
              float "w-csc" "lambda_csc" "Eq. 11 (0.1)" (fun c -> c.WeightCsc) (fun v c -> { c with WeightCsc = v })
              Setting.floats "scales" "scales of the assignment network's pseudo-label forward" "public code (1.0,0.5,1.5)" Check.none (fun c -> c.PseudoScales) (fun v c -> { c with PseudoScales = v })
              Setting.flag "flip" "pseudo labels also from the flipped view" "public code (true)" (fun c -> c.PseudoFlip) (fun v c -> { c with PseudoFlip = v })
              float "head-lr" "lr multiplier of the classifiers and the segmentation head" "public code (10)" (fun c -> c.HeadLrMultiplier) (fun v c -> { c with HeadLrMultiplier = v })
              int "head-hidden" "LargeFOV channels" "public code (512)" (fun c -> (head c).Hidden) (fun v c -> { c with SegmentationHead = { head c with Hidden = v } })
              int "head-dilation" "LargeFOV dilation" "public code (5)" (fun c -> (head c).Dilation) (fun v c -> { c with SegmentationHead = { head c with Dilation = v } })
              int "head-fc7" "LargeFOV fc7 kernel, 1 or 3" "public code (3)" (fun c -> (head c).Fc7Kernel) (fun v c -> { c with SegmentationHead = { head c with Fc7Kernel = v } })
              Setting.choice "predict" "the network answering predictions: assignment (an) or online (on)" "Fig. 8; public code scores both"
                  [ "an", AssignmentNetwork; "on", OnlineNetwork ] (fun c -> c.Predicting) (fun v c -> { c with Predicting = v })
              Setting.flag "strong-view" "the online network trains on the strong view (false: on the weak view, an ablation)" "Sec. 3.1 (true)"
                  (fun c -> c.OnlineStrongView) (fun v c -> { c with OnlineStrongView = v }) ]
          Validate = problems }

    /// The config when it holds together, else SettingsError naming every problem.
    let validate (cfg: CosaConfig) : CosaConfig = SettingsTable.validate table cfg

    /// Sets one key from its text (the CLI's `--set key=value`); the result is validated.
    let set (key: string) (value: string) (cfg: CosaConfig) : CosaConfig = SettingsTable.set table key value cfg |> validate
