namespace Hybrid.Wsss.Methods.Plda

open System
open System.Globalization
open Hybrid.Wsss.Training

/// The domain alignment of PLDA and the alternatives of its Tab. VII, all at pixel level.
type Discriminator =
    /// Eq. 5: one shared trunk, one 2-way head per foreground class; head c sees only the
    /// pixels the CAM assigns to class c (the paper's method).
    | MultiHead
    /// Eq. 2: one global 2-way head over every assigned pixel (DANN, Ganin and Lempitsky 2015).
    | Dann
    /// Maximum mean discrepancy between the source and the target pixel features (multi-kernel
    /// Gaussian, as DAN); no discriminator and no gradient reversal: minimised directly.
    | Mmd
    /// MADA (Pei et al. 2018): one head per class, every head sees every assigned pixel with
    /// its loss weighted by the pixel's class activation probability.
    | Mada

/// How pixels are split into the source (discriminative) and target (non-discriminative)
/// domains (Tab. VIII).
type Assignment =
    /// Eq. 6: source = normalised CAM > delta; the source pixels are erased from the image,
    /// which is forwarded again without gradient; target = masked CAM > delta outside the source.
    | MaskAssign
    /// Two thresholds on one CAM: source = CAM > delta, target = low < CAM <= delta.
    | SimpleAssign

/// The background channel of the per-pixel classifier CPS trains: the CAM scores s_1 .. s_K
/// of the baseline plus one background score.
type BackgroundChannel =
    /// A constant logit 1, the same as in the pseudo-label distribution: a supervised pixel's
    /// class score must rise above it (our default: CPS labels inside the domains are
    /// foreground only, so a learned background channel would only ever be pushed down).
    | FixedBackground
    /// A learned 1x1 convolution on the backbone feature, as the background row of the
    /// 21-channel classifier of the public SEAM variant.
    | LearnedBackground

/// The cut-offs that make a pseudo-label distribution confident (1-stage-wseg's
/// `pseudo_gtmask`, which the paper's CPS follows): class c of an image counts at a pixel when
/// its probability exceeds max(Floor, ratio_c * its largest probability in that image), with
/// ratio_c = Background for the background channel and Foreground for the others.
type CpsCutoffs =
    { Foreground: float
      Background: float
      Floor: float }

/// PLDA's settings; `defaults` are the paper's (MAP.md) unless a comment says otherwise.
type PldaConfig =
    { /// delta, the domain assignment threshold on the max-normalised CAM (Sec. III-D, Fig. 7a: 0.6).
      Delta: float
      Assignment: Assignment
      /// MaskAssign's forward of the erased image leaves the BatchNorm running statistics as
      /// they were (true), or lets erased images enter them (false, the behaviour before issue
      /// 22's suspect 1: the forward reads the model, it should not change what it predicts).
      ErasedKeepsBatchNorm: bool
      /// SimpleAssign's lower threshold (the paper gives no value; 0.3 is ours).
      SimpleLow: float
      Discriminator: Discriminator
      /// Tab. VI: the domain adaptation term L_da.
      DomainAdaptation: bool
      /// Tab. VI: CPS on the source domain (Eq. 7).
      CpsSource: bool
      /// Tab. VI: CPS on the target domain (Eq. 8).
      CpsTarget: bool
      /// Weights of the added terms (the paper sums them with weight 1).
      DaWeight: float
      CpsWeight: float
      /// The background score of the CPS classifier.
      Background: BackgroundChannel
      /// eta of the dynamic CPS threshold tau = eta * max (Fig. 7b: 0.6, as 1-stage-wseg).
      CpsRatio: float
      /// The same ratio for the background channel (the paper is silent; the public code and
      /// 1-stage-wseg use 0.7).
      CpsBackgroundRatio: float
      /// Lower bound of tau (1-stage-wseg's cutoff_low, 0.2).
      CpsFloor: float
      /// gamma of the DANN coefficient 2 / (1 + exp(-gamma p)) - 1 that scales the GRL (10).
      GrlGamma: float
      /// Discriminator trunk D -> Hidden1 -> Hidden2 (1x1 convs, ReLU, dropout; 1024, 512, 0.5
      /// as the public code).
      Hidden1: int
      Hidden2: int
      Dropout: float
      /// Per-image source/target balancing and entropy weighting of the domain loss: both in the
      /// public code, neither in the paper (off by default).
      BalanceDomains: bool
      EntropyWeighting: bool
      /// MMD: Gaussian kernels with bandwidths base * multiplier^(i - n/2), pixels sampled per domain.
      MmdKernels: int
      MmdMultiplier: float
      MmdSamples: int
      /// PAMR refinement of the pseudo-label distribution (10 iterations, dilations 1..24).
      PamrIterations: int
      PamrDilations: int list
      /// Learning-rate multiplier of PLDA's new layers (discriminator, background scorer): x10.
      NewLayerLrMult: float }

module PldaConfig =
    /// The CPS cut-offs of a config.
    let cutoffs (c: PldaConfig) : CpsCutoffs =
        { Foreground = c.CpsRatio; Background = c.CpsBackgroundRatio; Floor = c.CpsFloor }

    let defaults =
        { Delta = 0.6
          Assignment = MaskAssign
          ErasedKeepsBatchNorm = true
          SimpleLow = 0.3
          Discriminator = MultiHead
          DomainAdaptation = true
          CpsSource = true
          CpsTarget = true
          DaWeight = 1.0
          CpsWeight = 1.0
          Background = FixedBackground
          CpsRatio = 0.6
          CpsBackgroundRatio = 0.7
          CpsFloor = 0.2
          GrlGamma = 10.0
          Hidden1 = 1024
          Hidden2 = 512
          Dropout = 0.5
          BalanceDomains = false
          EntropyWeighting = false
          MmdKernels = 5
          MmdMultiplier = 2.0
          MmdSamples = 256
          PamrIterations = 10
          PamrDilations = [ 1; 2; 4; 8; 12; 24 ]
          NewLayerLrMult = 10.0 }

    /// The settings table (`--set`, config files, run.json, `hybrid settings plda`).
    let table: SettingsTable<PldaConfig> =
        let unitF name doc paper get set = Setting.float name doc paper Check.unitInterval get set
        { Method = "plda"
          Defaults = defaults
          Rows =
            [ unitF "delta" "domain assignment threshold on the max-normalised CAM" "Sec. III-D, Fig. 7a (0.6)" (fun c -> c.Delta) (fun v c -> { c with Delta = v })
              Setting.choice "assign" "how pixels split into source / target domains" "Tab. VIII"
                  [ "mask", MaskAssign; "maskassign", MaskAssign; "simple", SimpleAssign; "simpleassign", SimpleAssign ] (fun c -> c.Assignment) (fun v c -> { c with Assignment = v })
              Setting.flag "erased_keeps_bn" "MaskAssign's erased-image forward leaves the BatchNorm running statistics unchanged (false: erased images enter them)" "ours (issue 22, suspect 1)"
                  (fun c -> c.ErasedKeepsBatchNorm) (fun v c -> { c with ErasedKeepsBatchNorm = v })
              unitF "simple_low" "SimpleAssign's target threshold (< delta)" "Tab. VIII (value ours: the paper gives none)" (fun c -> c.SimpleLow) (fun v c -> { c with SimpleLow = v })
              Setting.choice "discriminator" "pixel-level alignment: multi-head GRL (PLDA), DANN, MMD or MADA" "Tab. VII"
                  [ "multihead", MultiHead; "multi-head", MultiHead; "multi_head", MultiHead; "dann", Dann; "mmd", Mmd; "mada", Mada ] (fun c -> c.Discriminator) (fun v c -> { c with Discriminator = v })
              Setting.flag "da" "the domain adaptation term L_da" "Tab. VI" (fun c -> c.DomainAdaptation) (fun v c -> { c with DomainAdaptation = v })
              Setting.flag "cps_s" "confident pseudo-supervision on the source domain" "Tab. VI, Eq. 7" (fun c -> c.CpsSource) (fun v c -> { c with CpsSource = v })
              Setting.flag "cps_t" "confident pseudo-supervision on the target domain" "Tab. VI, Eq. 8" (fun c -> c.CpsTarget) (fun v c -> { c with CpsTarget = v })
              Setting.float "da_weight" "weight of L_da" "Eq. 9 (1)" Check.nonNegative (fun c -> c.DaWeight) (fun v c -> { c with DaWeight = v })
              Setting.float "cps_weight" "weight of each CPS term" "Eq. 9 (1)" Check.nonNegative (fun c -> c.CpsWeight) (fun v c -> { c with CpsWeight = v })
              Setting.choice "background" "background score of the CPS classifier: a constant logit or a learned 1x1 conv" "ours (the paper is silent)"
                  [ "fixed", FixedBackground; "learned", LearnedBackground; "learnt", LearnedBackground ] (fun c -> c.Background) (fun v c -> { c with Background = v })
              unitF "cps_ratio" "eta of the dynamic CPS threshold tau = eta * max" "Fig. 7b (0.6)" (fun c -> c.CpsRatio) (fun v c -> { c with CpsRatio = v })
              unitF "cps_bg_ratio" "the same ratio for the background channel" "public code (0.7)" (fun c -> c.CpsBackgroundRatio) (fun v c -> { c with CpsBackgroundRatio = v })
              unitF "cps_floor" "lower bound of the CPS threshold" "1-stage-wseg cutoff_low (0.2)" (fun c -> c.CpsFloor) (fun v c -> { c with CpsFloor = v })
              Setting.float "grl_gamma" "gamma of the GRL coefficient 2 / (1 + exp(-gamma p)) - 1" "DANN schedule (10)" Check.positive (fun c -> c.GrlGamma) (fun v c -> { c with GrlGamma = v })
              Setting.int "hidden1" "discriminator trunk width 1" "public code (1024)" (Check.atLeast 1) (fun c -> c.Hidden1) (fun v c -> { c with Hidden1 = v })
              Setting.int "hidden2" "discriminator trunk width 2" "public code (512)" (Check.atLeast 1) (fun c -> c.Hidden2) (fun v c -> { c with Hidden2 = v })
              unitF "dropout" "discriminator dropout" "public code (0.5)" (fun c -> c.Dropout) (fun v c -> { c with Dropout = v })
              Setting.flag "balance_domains" "balance source / target pixels per image in L_da" "public code, not the paper (off)" (fun c -> c.BalanceDomains) (fun v c -> { c with BalanceDomains = v })
              Setting.flag "entropy_weighting" "entropy-weight the pixels of L_da" "public code, not the paper (off)" (fun c -> c.EntropyWeighting) (fun v c -> { c with EntropyWeighting = v })
              Setting.int "mmd_kernels" "number of Gaussian kernels of MMD" "Tab. VII MMD (5)" (Check.atLeast 1) (fun c -> c.MmdKernels) (fun v c -> { c with MmdKernels = v })
              Setting.float "mmd_multiplier" "bandwidth ratio between MMD kernels (> 1)" "Tab. VII MMD (2)" (fun x -> if x > 1.0 then None else Some "must be > 1") (fun c -> c.MmdMultiplier) (fun v c -> { c with MmdMultiplier = v })
              Setting.int "mmd_samples" "pixels sampled per domain for MMD" "ours (256)" (Check.atLeast 2) (fun c -> c.MmdSamples) (fun v c -> { c with MmdSamples = v })
              Setting.int "pamr_iterations" "PAMR iterations on the pseudo-label distribution" "Sec. III-E (10)" (Check.atLeast 0) (fun c -> c.PamrIterations) (fun v c -> { c with PamrIterations = v })
              Setting.custom "pamr_dilations" (Text "ints, comma separated") "PAMR dilations" "Sec. III-E (1,2,4,8,12,24)"
                  (fun v ->
                      let parts = v.Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries) |> Array.map Setting.parseInt
                      if parts.Length = 0 then Error "not a list of integers"
                      elif parts |> Array.exists Result.isError then Error "not a list of integers (comma separated)"
                      else Ok(parts |> Array.choose (function Ok d -> Some d | Error _ -> None) |> List.ofArray))
                  (fun ds -> ds |> List.map string |> String.concat ",")
                  (fun ds -> if ds |> List.exists (fun d -> d < 1) then Some "must all be >= 1" else None)
                  (fun c -> c.PamrDilations) (fun v c -> { c with PamrDilations = v })
              Setting.float "new_layer_lr_mult" "learning-rate multiplier of PLDA's layers (discriminator, background scorer)" "x10, as the baseline's new layers" Check.positive (fun c -> c.NewLayerLrMult) (fun v c -> { c with NewLayerLrMult = v }) ]
          Validate =
            fun c ->
                [ if c.Assignment = SimpleAssign && c.SimpleLow >= c.Delta then
                      sprintf "simple_low: SimpleAssign needs simple_low < delta, got %g >= %g" c.SimpleLow c.Delta
                  // the table's rows check their own ranges; a config built in code is checked here too
                  for row in [ "delta", c.Delta; "simple_low", c.SimpleLow; "cps_ratio", c.CpsRatio; "cps_bg_ratio", c.CpsBackgroundRatio; "cps_floor", c.CpsFloor; "dropout", c.Dropout ] do
                      match Check.unitInterval (snd row) with
                      | Some p -> sprintf "%s %s, got %g" (fst row) p (snd row)
                      | None -> ()
                  if c.DaWeight < 0.0 || c.CpsWeight < 0.0 then "da_weight and cps_weight must be >= 0"
                  if not (c.GrlGamma > 0.0) then "grl_gamma must be > 0"
                  if c.Hidden1 < 1 || c.Hidden2 < 1 then "hidden1/hidden2 must be >= 1"
                  if c.MmdKernels < 1 then "mmd_kernels must be >= 1"
                  if not (c.MmdMultiplier > 1.0) then "mmd_multiplier must be > 1"
                  if c.MmdSamples < 2 then "mmd_samples must be >= 2"
                  if c.PamrIterations < 0 then "pamr_iterations must be >= 0"
                  if List.isEmpty c.PamrDilations || c.PamrDilations |> List.exists (fun d -> d < 1) then
                      "pamr_dilations must be a non-empty list of integers >= 1"
                  if not (c.NewLayerLrMult > 0.0) then "new_layer_lr_mult must be > 0" ] }

    /// The config when its values hold together, else an error naming the field to fix.
    let validate (c: PldaConfig) : PldaConfig = SettingsTable.validate table c

    /// One `--set key=value`.
    let set (key: string) (value: string) (c: PldaConfig) : PldaConfig = SettingsTable.set table key value c
