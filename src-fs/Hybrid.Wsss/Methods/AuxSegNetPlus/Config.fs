namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System
open System.Globalization

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
          ChunkRows = None
          ClassificationEpochs = 15
          MaxEpochsPerStage = 15
          Patience = 5
          RestoreBest = true
          Lr = 1e-3
          NewLayerLrMultiplier = 1.0 }

    /// Checks the switches fit together; the message says what to change.
    let validate (c: Config) : Config =
        let fail (msg: string) = invalidArg "cfg" ("AuxSegNet+: " + msg)
        match c.Affinity with
        | CrossTaskSegmentationConstraint
        | CrossTaskBothConstraints when not (Branches.hasSaliency c.Branches) ->
            fail "a cross-task affinity needs the saliency branch; set branches=all or branches=seg-sal, or affinity=seg"
        | _ -> ()
        if List.isEmpty c.CamScales then fail "cam-scales needs at least one scale"
        if c.CamScales |> List.exists (fun s -> not (s > 0.0) || Double.IsInfinity s) then
            fail (sprintf "cam-scales must be positive, got %A" c.CamScales)
        if c.Stages < 1 then fail "stages must be >= 1"
        if c.BranchChannels < 1 then fail "channels must be >= 1"
        let d1, d2 = c.Dilations
        if d1 < 1 || d2 < 1 then fail "dilations must be >= 1"
        match c.ChunkRows with
        | Some r when r < 1 -> fail "chunk-rows must be >= 1"
        | _ -> ()
        if c.ClassificationEpochs < 0 then fail "classification-epochs must be >= 0"
        if c.MaxEpochsPerStage < 1 then fail "max-epochs must be >= 1"
        if c.Patience < 1 then fail "patience must be >= 1"
        if not (c.Lr > 0.0) then fail "lr must be > 0"
        if not (c.NewLayerLrMultiplier > 0.0) then fail "new-layer-lr-mult must be > 0"
        if not (c.Thresholds.Cam >= 0.0 && c.Thresholds.Cam <= 1.0) then fail "cam-threshold must lie in [0, 1]"
        match c.Thresholds.Saliency with
        | Fixed t when not (t >= 0.0 && t <= 1.0) -> fail "saliency-threshold must lie in [0, 1]"
        | TimesMean k when not (k > 0.0) || Double.IsInfinity k -> fail "saliency-threshold=<k>xmean needs k > 0"
        | _ -> ()
        c

    let private branchNames =
        [ "seg", SegmentationOnly; "seg-cls", WithClassification; "seg-sal", WithSaliency; "all", AllBranches ]

    let private affinityNames =
        [ "none", NoAffinity
          "seg", SegmentationAffinity
          "ct-seg", CrossTaskSegmentationConstraint
          "ct-seg-sal", CrossTaskBothConstraints ]

    let private kindNames = [ "pairwise", Pairwise; "dual", Dual ]

    let private choice (key: string) (names: (string * 'T) list) (value: string) : 'T =
        match names |> List.tryFind (fun (n, _) -> n = value.Trim().ToLowerInvariant()) with
        | Some(_, v) -> v
        | None -> invalidArg key (sprintf "%s=%s: expected one of %s" key value (names |> List.map fst |> String.concat ", "))

    let private number (key: string) (value: string) : float =
        match Double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v when not (Double.IsNaN v) -> v
        | _ -> invalidArg key (sprintf "%s=%s: expected a number" key value)

    let private integer (key: string) (value: string) : int =
        match Int32.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
        | true, v -> v
        | _ -> invalidArg key (sprintf "%s=%s: expected an integer" key value)

    let private boolean (key: string) (value: string) : bool =
        match value.Trim().ToLowerInvariant() with
        | "true" | "on" | "yes" | "1" -> true
        | "false" | "off" | "no" | "0" -> false
        | _ -> invalidArg key (sprintf "%s=%s: expected true or false" key value)

    let private saliencyCut (key: string) (value: string) : SaliencyCut =
        let v = value.Trim().ToLowerInvariant()
        if v.EndsWith "xmean" then TimesMean(number key (v.Substring(0, v.Length - "xmean".Length)))
        else Fixed(number key v)

    let private numbers (key: string) (value: string) : float list =
        value.Split([| ','; ' ' |], StringSplitOptions.RemoveEmptyEntries) |> Array.map (number key) |> List.ofArray

    /// The keys `set` understands, with what they take.
    let keys: (string * string) list =
        [ "branches", "seg | seg-cls | seg-sal | all (Tab. IV)"
          "affinity", "none | seg | ct-seg | ct-seg-sal (Tab. V)"
          "kind", "pairwise | dual (Tab. X)"
          "cam-scales", "comma-separated scales, e.g. 0.5,1,1.5 (Tab. VIII)"
          "cam-flip", "true | false"
          "refine-cam", "true | false (Eq. 18)"
          "stages", "number of label stages (Tab. VI)"
          "iterative", "true | false: regenerate labels after each stage (Tab. XI)"
          "cam-threshold", "foreground CAM threshold (0.2)"
          "saliency-threshold", "saliency cut: a value (the paper's 0.06) or <k>xmean (k x the map's mean; default 2xmean)"
          "saliency-crf", "true | false (Eq. 1)"
          "channels", "branch channels (128)"
          "dilations", "two dilation rates, e.g. 6,12"
          "chunk-rows", "affinity rows per chunk, or 'all'"
          "classification-epochs", "epochs of the classification phase (15)"
          "max-epochs", "epoch budget of a label stage (15)"
          "patience", "early-stopping patience (5)"
          "restore-best", "true | false"
          "lr", "base learning rate (1e-3)"
          "new-layer-lr-mult", "learning-rate multiplier of the new layers (1, the paper; the public code uses 10)" ]

    /// Sets one key from the CLI's `--set key=value`; unknown keys and unparsable values are
    /// errors that list what is valid. Whether the switches fit together is checked by
    /// `validate` (called by `create`), so keys can be set in any order.
    let set (key: string) (value: string) (c: Config) : Config =
        let k = key.Trim().ToLowerInvariant()
        match k with
        | "branches" -> { c with Branches = choice k branchNames value }
        | "affinity" -> { c with Affinity = choice k affinityNames value }
        | "kind" -> { c with Kind = choice k kindNames value }
        | "cam-scales" -> { c with CamScales = numbers k value }
        | "cam-flip" -> { c with CamFlip = boolean k value }
        | "refine-cam" -> { c with RefineCam = boolean k value }
        | "stages" -> { c with Stages = integer k value }
        | "iterative" -> { c with IterativeRefinement = boolean k value }
        | "cam-threshold" -> { c with Thresholds = { c.Thresholds with Cam = number k value } }
        | "saliency-threshold" -> { c with Thresholds = { c.Thresholds with Saliency = saliencyCut k value } }
        | "saliency-crf" -> { c with SaliencyCrf = boolean k value }
        | "channels" -> { c with BranchChannels = integer k value }
        | "dilations" ->
            match numbers k value |> List.map int with
            | [ a; b ] -> { c with Dilations = (a, b) }
            | _ -> invalidArg k (sprintf "%s=%s: expected two rates, e.g. 6,12" k value)
        | "chunk-rows" ->
            if value.Trim().ToLowerInvariant() = "all" then { c with ChunkRows = None }
            else { c with ChunkRows = Some(integer k value) }
        | "classification-epochs" -> { c with ClassificationEpochs = integer k value }
        | "max-epochs" -> { c with MaxEpochsPerStage = integer k value }
        | "patience" -> { c with Patience = integer k value }
        | "restore-best" -> { c with RestoreBest = boolean k value }
        | "lr" -> { c with Lr = number k value }
        | "new-layer-lr-mult" -> { c with NewLayerLrMultiplier = number k value }
        | _ ->
            invalidArg
                "key"
                (sprintf "unknown AuxSegNet+ setting '%s'; valid keys: %s" key (keys |> List.map fst |> String.concat ", "))
