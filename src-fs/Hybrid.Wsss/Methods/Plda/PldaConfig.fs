namespace Hybrid.Wsss.Methods.Plda

open System
open System.Globalization

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

    /// Checks ranges; returns the config or raises naming the field to fix.
    let validate (c: PldaConfig) : PldaConfig =
        let fail key msg = invalidArg key (sprintf "plda.%s: %s" key msg)
        let unit key v = if Double.IsNaN v || v < 0.0 || v > 1.0 then fail key (sprintf "must lie in [0, 1], got %g" v)
        unit "delta" c.Delta
        unit "simple_low" c.SimpleLow
        if c.Assignment = SimpleAssign && c.SimpleLow >= c.Delta then
            fail "simple_low" (sprintf "SimpleAssign needs simple_low < delta, got %g >= %g" c.SimpleLow c.Delta)
        unit "cps_ratio" c.CpsRatio
        unit "cps_bg_ratio" c.CpsBackgroundRatio
        unit "cps_floor" c.CpsFloor
        unit "dropout" c.Dropout
        if c.DaWeight < 0.0 then fail "da_weight" "must be >= 0"
        if c.CpsWeight < 0.0 then fail "cps_weight" "must be >= 0"
        if not (c.GrlGamma > 0.0) then fail "grl_gamma" "must be > 0"
        if c.Hidden1 < 1 || c.Hidden2 < 1 then fail "hidden1/hidden2" "must be >= 1"
        if c.MmdKernels < 1 then fail "mmd_kernels" "must be >= 1"
        if not (c.MmdMultiplier > 1.0) then fail "mmd_multiplier" "must be > 1"
        if c.MmdSamples < 2 then fail "mmd_samples" "must be >= 2"
        if c.PamrIterations < 0 then fail "pamr_iterations" "must be >= 0"
        if List.isEmpty c.PamrDilations || c.PamrDilations |> List.exists (fun d -> d < 1) then
            fail "pamr_dilations" "must be a non-empty list of integers >= 1"
        if not (c.NewLayerLrMult > 0.0) then fail "new_layer_lr_mult" "must be > 0"
        c

    let private parseFloat key (v: string) =
        match Double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> invalidArg key (sprintf "plda.%s: '%s' is not a number" key v)

    let private parseInt key (v: string) =
        match Int32.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> invalidArg key (sprintf "plda.%s: '%s' is not an integer" key v)

    let private parseBool key (v: string) =
        match v.Trim().ToLowerInvariant() with
        | "true" | "on" | "1" | "yes" -> true
        | "false" | "off" | "0" | "no" -> false
        | _ -> invalidArg key (sprintf "plda.%s: '%s' is not a boolean (true/false, on/off)" key v)

    let private parseDiscriminator (v: string) =
        match v.Trim().ToLowerInvariant() with
        | "multihead" | "multi-head" | "multi_head" -> MultiHead
        | "dann" -> Dann
        | "mmd" -> Mmd
        | "mada" -> Mada
        | _ -> invalidArg "discriminator" (sprintf "plda.discriminator: '%s' is not one of multihead, dann, mmd, mada" v)

    let private parseAssignment (v: string) =
        match v.Trim().ToLowerInvariant() with
        | "mask" | "maskassign" -> MaskAssign
        | "simple" | "simpleassign" -> SimpleAssign
        | _ -> invalidArg "assign" (sprintf "plda.assign: '%s' is not one of mask, simple" v)

    let private parseBackground (v: string) =
        match v.Trim().ToLowerInvariant() with
        | "fixed" -> FixedBackground
        | "learned" | "learnt" -> LearnedBackground
        | _ -> invalidArg "background" (sprintf "plda.background: '%s' is not one of fixed, learned" v)

    /// The keys `set` understands, with what they set.
    let keys =
        [ "delta", "domain assignment threshold on the normalised CAM (0.6)"
          "assign", "mask | simple (Tab. VIII)"
          "simple_low", "SimpleAssign's target threshold (0.3)"
          "discriminator", "multihead | dann | mmd | mada (Tab. VII)"
          "da", "L_da on/off (Tab. VI)"
          "cps_s", "L_cps on the source domain on/off (Tab. VI)"
          "cps_t", "L_cps on the target domain on/off (Tab. VI)"
          "da_weight", "weight of L_da (1)"
          "cps_weight", "weight of each CPS term (1)"
          "background", "fixed | learned: background score of the CPS classifier (fixed)"
          "cps_ratio", "eta of the dynamic CPS threshold (0.6)"
          "cps_bg_ratio", "the same ratio for the background channel (0.7)"
          "cps_floor", "lower bound of the CPS threshold (0.2)"
          "grl_gamma", "gamma of the DANN GRL schedule (10)"
          "hidden1", "discriminator trunk width 1 (1024)"
          "hidden2", "discriminator trunk width 2 (512)"
          "dropout", "discriminator dropout (0.5)"
          "balance_domains", "balance source/target pixels in L_da (off)"
          "entropy_weighting", "entropy-weight the pixels of L_da (off)"
          "mmd_kernels", "number of Gaussian kernels of MMD (5)"
          "mmd_multiplier", "bandwidth ratio between MMD kernels (2)"
          "mmd_samples", "pixels sampled per domain for MMD (256)"
          "pamr_iterations", "PAMR iterations (10)"
          "pamr_dilations", "PAMR dilations, comma-separated (1,2,4,8,12,24)"
          "new_layer_lr_mult", "learning-rate multiplier of PLDA's layers (10)" ]

    /// Sets one key from the CLI's `--set key=value`; an unknown key is an error listing the
    /// keys. Ranges are checked by `validate` (called by `create`), so keys may come in any order.
    let set (key: string) (value: string) (c: PldaConfig) : PldaConfig =
        let k = key.Trim().ToLowerInvariant()
        match k with
        | "delta" -> { c with Delta = parseFloat k value }
        | "assign" | "assignment" -> { c with Assignment = parseAssignment value }
        | "simple_low" -> { c with SimpleLow = parseFloat k value }
        | "discriminator" -> { c with Discriminator = parseDiscriminator value }
        | "da" -> { c with DomainAdaptation = parseBool k value }
        | "cps_s" -> { c with CpsSource = parseBool k value }
        | "cps_t" -> { c with CpsTarget = parseBool k value }
        | "da_weight" -> { c with DaWeight = parseFloat k value }
        | "cps_weight" -> { c with CpsWeight = parseFloat k value }
        | "background" -> { c with Background = parseBackground value }
        | "cps_ratio" -> { c with CpsRatio = parseFloat k value }
        | "cps_bg_ratio" -> { c with CpsBackgroundRatio = parseFloat k value }
        | "cps_floor" -> { c with CpsFloor = parseFloat k value }
        | "grl_gamma" -> { c with GrlGamma = parseFloat k value }
        | "hidden1" -> { c with Hidden1 = parseInt k value }
        | "hidden2" -> { c with Hidden2 = parseInt k value }
        | "dropout" -> { c with Dropout = parseFloat k value }
        | "balance_domains" -> { c with BalanceDomains = parseBool k value }
        | "entropy_weighting" -> { c with EntropyWeighting = parseBool k value }
        | "mmd_kernels" -> { c with MmdKernels = parseInt k value }
        | "mmd_multiplier" -> { c with MmdMultiplier = parseFloat k value }
        | "mmd_samples" -> { c with MmdSamples = parseInt k value }
        | "pamr_iterations" -> { c with PamrIterations = parseInt k value }
        | "pamr_dilations" ->
            { c with PamrDilations = value.Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries) |> Array.map (parseInt k) |> List.ofArray }
        | "new_layer_lr_mult" -> { c with NewLayerLrMult = parseFloat k value }
        | _ ->
            let valid = keys |> List.map (fun (n, d) -> sprintf "  %s: %s" n d) |> String.concat "\n"
            invalidArg (nameof key) (sprintf "unknown PLDA key '%s'; valid keys:\n%s" key valid)
