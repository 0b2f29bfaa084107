namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System
open System.Globalization
open Hybrid.Wsss.Training

/// Which branches are trained next to segmentation (Tab. IV; segmentation is always on).
type Branches =
    /// "Baseline": segmentation alone (the classifier only serves the classification phase's CAMs).
    | SegmentationOnly
    /// segmentation + multi-label classification
    | WithClassification
    /// segmentation + saliency detection
    | WithSaliency
    /// segmentation + classification + saliency (the full model)
    | AllBranches

module Branches =
    let hasClassification b = b = WithClassification || b = AllBranches
    let hasSaliency b = b = WithSaliency || b = AllBranches

/// How affinity is learned and which pseudo labels constrain it (Tab. V).
type AffinityLearning =
    /// the multi-task baseline: no affinity module, no refined predictions
    | NoAffinity
    /// "Seg. affinity with seg. constraint": only the segmentation branch learns an affinity,
    /// which refines the segmentation prediction alone
    | SegmentationAffinity
    /// "CT affinity with seg. constraint": saliency and segmentation affinities fused, refining
    /// the segmentation prediction only
    | CrossTaskSegmentationConstraint
    /// "CT affinity with seg. and sal. constraints": the full model
    | CrossTaskBothConstraints

/// Which affinities the module learns (Tab. X).
type AffinityKind =
    /// AuxSegNet (ICCV 2021): pairwise only
    | Pairwise
    /// AuxSegNet+: pairwise and unary
    | Dual

/// What the learned affinity multiplies when it refines a prediction.
type RefinedQuantity =
    /// the predictions' probabilities (softmax / sigmoid), Eq. 14-17 of the paper
    | Probabilities
    /// the predictions' logits, as the public AuxSegNet code does (the refined logits then go
    /// through the loss's own softmax / sigmoid)
    | Logits

/// AuxSegNet+ (Xu et al., "Auxiliary Tasks Enhanced Dual-affinity Learning for WSSS") with the
/// switches of its ablation tables. Defaults are the paper's (Sec. III, IV-A; MAP.md).
type Config =
    { /// Tab. IV
      Branches: Branches
      /// Tab. V
      Affinity: AffinityLearning
      /// Tab. X
      Kind: AffinityKind
      /// CAM input scales (Tab. VIII: (0.5, 1.0, 1.5); (1.0) is single-scale CAM)
      CamScales: float list
      /// also average horizontally flipped inputs in the multi-scale CAM (the paper does not)
      CamFlip: bool
      /// CAM refinement by the previous stage's affinity (Eq. 18; off: plain CAMs every stage)
      RefineCam: bool
      /// number of label stages (Tab. VI: stages 0..4, saturating at 3 -> 4 stages)
      Stages: int
      /// regenerate labels after every stage (Tab. XI); off: every stage trains on stage 0's labels
      IterativeRefinement: bool
      /// thresholds of the pseudo-label rule (Sec. IV-A: 0.2 on the CAM, 0.06 on saliency; here
      /// the saliency cut adapts to the classical saliency maps: PseudoLabels.classicalSaliency)
      Thresholds: CueThresholds
      /// saliency labels after stage 0 from the dense CRF of Eq. 1 (off: the plain average)
      SaliencyCrf: bool
      /// channels of the saliency / segmentation branch features (128)
      BranchChannels: int
      /// dilation rates of the two 3x3 branch convolutions (6, 12)
      Dilations: int * int
      /// what the affinity refines (the paper: probabilities)
      Refines: RefinedQuantity
      /// dilation of a 3x3 convolution + ReLU on each affinity-enhanced branch's features
      /// before its output convolution (the public AuxSegNet code: 18; the paper: none)
      PostAffinityDilation: int option
      /// query rows of the HW x HW affinity computed at once (None: all rows)
      ChunkRows: int option
      /// epochs of classification-only training first (15)
      ClassificationEpochs: int
      /// epoch budget of a label stage (15)
      MaxEpochsPerStage: int
      /// early-stopping patience within a label stage (5)
      Patience: int
      /// go back to the best epoch's weights when a stage ends
      RestoreBest: bool
      /// base learning rate (SGD, poly 0.9; Sec. IV-A: 1e-3)
      Lr: float
      /// learning-rate multiplier of the new layers. The paper gives one learning rate (Sec.
      /// IV-A: 1e-3), so 1; the public AuxSegNet code trains its new layers at x10, which over
      /// our pretrained backbone's features blows up the first step of a label stage (losses 6.3
      /// -> 20.5) and leaves the saliency branch's ReLUs dead (a constant saliency map).
      NewLayerLrMultiplier: float }

module Config =
    let defaults: Config =
        { Branches = AllBranches
          Affinity = CrossTaskBothConstraints
          Kind = Dual
          CamScales = [ 0.5; 1.0; 1.5 ]
          CamFlip = false
          RefineCam = true
          Stages = 4
          IterativeRefinement = true
          Thresholds = PseudoLabels.classicalSaliency
          SaliencyCrf = true
          BranchChannels = 128
          Dilations = (6, 12)
          Refines = Probabilities
          PostAffinityDilation = None
          ChunkRows = None
          ClassificationEpochs = 15
          MaxEpochsPerStage = 15
          Patience = 5
          RestoreBest = true
          Lr = 1e-3
          NewLayerLrMultiplier = 1.0 }

    /// What does not fit together or lies out of range (empty: valid); each says what to change.
    let problems (c: Config) : string list =
        [ match c.Affinity with
          | CrossTaskSegmentationConstraint
          | CrossTaskBothConstraints when not (Branches.hasSaliency c.Branches) ->
              "a cross-task affinity needs the saliency branch; set branches=all or branches=seg-sal, or affinity=seg"
          | _ -> ()
          if List.isEmpty c.CamScales then "cam-scales needs at least one scale"
          if c.CamScales |> List.exists (fun s -> not (s > 0.0) || Double.IsInfinity s) then
              sprintf "cam-scales must be positive, got %A" c.CamScales
          if c.Stages < 1 then "stages must be >= 1"
          if c.BranchChannels < 1 then "channels must be >= 1"
          let d1, d2 = c.Dilations
          if d1 < 1 || d2 < 1 then "dilations must be >= 1"
          match c.PostAffinityDilation with
          | Some d when d < 1 -> "post-affinity-conv must be a dilation >= 1 or none"
          | Some _ when c.Affinity = NoAffinity -> "post-affinity-conv follows the affinity module; set affinity to one that exists, or post-affinity-conv=none"
          | _ -> ()
          match c.ChunkRows with
          | Some r when r < 1 -> "chunk-rows must be >= 1"
          | _ -> ()
          if c.ClassificationEpochs < 0 then "classification-epochs must be >= 0"
          if c.MaxEpochsPerStage < 1 then "max-epochs must be >= 1"
          if c.Patience < 1 then "patience must be >= 1"
          if not (c.Lr > 0.0) then "lr must be > 0"
          if not (c.NewLayerLrMultiplier > 0.0) then "new-layer-lr-mult must be > 0"
          if not (c.Thresholds.Cam >= 0.0 && c.Thresholds.Cam <= 1.0) then "cam-threshold must lie in [0, 1]"
          match c.Thresholds.Saliency with
          | Fixed t when not (t >= 0.0 && t <= 1.0) -> "saliency-threshold must lie in [0, 1]"
          | TimesMean k when not (k > 0.0) || Double.IsInfinity k -> "saliency-threshold=<k>xmean needs k > 0"
          | _ -> () ]

    let private saliencyCut (value: string) : Result<SaliencyCut, string> =
        let v = value.Trim().ToLowerInvariant()
        if v.EndsWith "xmean" then Setting.parseFloat (v.Substring(0, v.Length - "xmean".Length)) |> Result.map TimesMean
        else Setting.parseFloat v |> Result.map Fixed

    let private showCut =
        function
        | TimesMean k -> Setting.showFloat k + "xmean"
        | Fixed t -> Setting.showFloat t

    /// AuxSegNet+'s settings table (`--set`, config files, run.json, `hybrid settings auxsegnet+`).
    let table: SettingsTable<Config> =
        let th (c: Config) = c.Thresholds
        { Method = "auxsegnet+"
          Defaults = defaults
          Rows =
            [ Setting.choice "branches" "branches trained next to segmentation: none, classification, saliency, or both" "Tab. IV"
                  [ "all", AllBranches; "seg", SegmentationOnly; "seg-cls", WithClassification; "seg-sal", WithSaliency ] (fun c -> c.Branches) (fun v c -> { c with Branches = v })
              Setting.choice "affinity" "the affinity that refines segmentation: none, segmentation's, cross-task with one or both constraints" "Tab. V"
                  [ "ct-seg-sal", CrossTaskBothConstraints; "none", NoAffinity; "seg", SegmentationAffinity; "ct-seg", CrossTaskSegmentationConstraint ] (fun c -> c.Affinity) (fun v c -> { c with Affinity = v })
              Setting.choice "kind" "pairwise affinity or the dual (two-way) affinity" "Tab. X" [ "dual", Dual; "pairwise", Pairwise ] (fun c -> c.Kind) (fun v c -> { c with Kind = v })
              Setting.floats "cam-scales" "CAM scales of the label generation" "Tab. VIII (0.5,1,1.5)" Check.none (fun c -> c.CamScales) (fun v c -> { c with CamScales = v })
              Setting.flag "cam-flip" "CAMs also from the flipped image" "Tab. VIII (false)" (fun c -> c.CamFlip) (fun v c -> { c with CamFlip = v })
              Setting.flag "refine-cam" "refine the CAMs with the learned affinity" "Eq. 18 (true)" (fun c -> c.RefineCam) (fun v c -> { c with RefineCam = v })
              Setting.int "stages" "number of label stages" "Tab. VI (4)" Check.none (fun c -> c.Stages) (fun v c -> { c with Stages = v })
              Setting.flag "iterative" "regenerate the labels after each stage" "Tab. XI (true)" (fun c -> c.IterativeRefinement) (fun v c -> { c with IterativeRefinement = v })
              Setting.float "cam-threshold" "foreground CAM threshold of the pseudo labels" "Sec. IV-A (0.2)" Check.none (fun c -> (th c).Cam) (fun v c -> { c with Thresholds = { th c with Cam = v } })
              Setting.custom "saliency-threshold" (Text "<value>|<k>xmean") "saliency cut: a value (the paper's 0.06) or k x the map's mean" "Sec. IV-A (default 2xmean, ours)"
                  saliencyCut showCut Check.none (fun c -> (th c).Saliency) (fun v c -> { c with Thresholds = { th c with Saliency = v } })
              Setting.flag "saliency-crf" "dense CRF on the saliency labels" "Eq. 1 (true)" (fun c -> c.SaliencyCrf) (fun v c -> { c with SaliencyCrf = v })
              Setting.int "channels" "branch channels" "Sec. IV-A (128)" Check.none (fun c -> c.BranchChannels) (fun v c -> { c with BranchChannels = v })
              Setting.custom "dilations" (Text "two ints, e.g. 6,12") "the two dilation rates of the branches" "Sec. III (6,12)"
                  (fun v ->
                      match Setting.parseFloats v with
                      | Ok [ a; b ] when a = Math.Round a && b = Math.Round b -> Ok(int a, int b)
                      | _ -> Error "not two integer rates, e.g. 6,12")
                  (fun (a, b) -> $"{a},{b}") Check.none (fun c -> c.Dilations) (fun v c -> { c with Dilations = v })
              Setting.choice "refine" "what the affinity refines: the predictions' probabilities or their logits (the public AuxSegNet code)" "Eq. 14-17 (probabilities)"
                  [ "probabilities", Probabilities; "logits", Logits ] (fun c -> c.Refines) (fun v c -> { c with Refines = v })
              Setting.optionalInt "post-affinity-conv" "none" "dilation of a 3x3 conv + ReLU after the affinity-enhanced features (the public AuxSegNet code: 18), or none" "Fig. 3 (none)" 1
                  (fun c -> c.PostAffinityDilation) (fun v c -> { c with PostAffinityDilation = v })
              Setting.optionalInt "chunk-rows" "all" "affinity rows per chunk (memory), or all at once" "ours (all)" 1 (fun c -> c.ChunkRows) (fun v c -> { c with ChunkRows = v })
              Setting.int "classification-epochs" "epochs of the classification phase" "Sec. IV-A (15)" Check.none (fun c -> c.ClassificationEpochs) (fun v c -> { c with ClassificationEpochs = v })
              Setting.int "max-epochs" "epoch budget of a label stage" "Sec. IV-A (15)" Check.none (fun c -> c.MaxEpochsPerStage) (fun v c -> { c with MaxEpochsPerStage = v })
              Setting.int "patience" "early-stopping patience in epochs" "Sec. IV-A (5)" Check.none (fun c -> c.Patience) (fun v c -> { c with Patience = v })
              Setting.flag "restore-best" "a stage ends with its best epoch's weights" "ours (true)" (fun c -> c.RestoreBest) (fun v c -> { c with RestoreBest = v })
              Setting.float "lr" "base learning rate of each phase (poly 0.9 from it)" "Sec. IV-A (1e-3)" Check.none (fun c -> c.Lr) (fun v c -> { c with Lr = v })
              Setting.float "new-layer-lr-mult" "learning-rate multiplier of the new layers (the public code uses 10)" "Sec. IV-A (1)" Check.none (fun c -> c.NewLayerLrMultiplier) (fun v c -> { c with NewLayerLrMultiplier = v }) ]
          Validate = problems }

    /// The config when the switches fit together, else SettingsError saying what to change.
    let validate (c: Config) : Config = SettingsTable.validate table c

    /// One `--set key=value`; whether the switches fit together is checked by `validate`
    /// (called by `create`), so keys can be set in any order.
    let set (key: string) (value: string) (c: Config) : Config = SettingsTable.set table key value c
