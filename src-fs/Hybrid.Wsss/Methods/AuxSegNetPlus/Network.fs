namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open TorchSharp
open TorchSharp.Modules
open Hybrid.Vision
open Hybrid.Wsss

/// The shared feature extractor as the network sees it: a module (registered, trained,
/// checkpointed) and the function giving its final feature map (B, D, h, w) of normalised
/// images (B, 3, H, W).
type SharedBackbone =
    { Module: torch.nn.Module
      Features: Tensor -> Tensor
      /// D
      Channels: int64 }

/// One forward pass of the multi-task network; maps are at the backbone's output resolution
/// (h, w). All tensors belong to the caller's dispose scope.
type Outputs =
    { /// (B, K) image-level logits (GAP of the features, then the fc classifier)
      Scores: Tensor
      /// (B, K, h, w) W . F before the ReLU
      Cam: Tensor
      /// (B, K + 1, h, w) initial segmentation logits
      Segmentation: Tensor
      /// (B, 1, h, w) initial saliency logits, when the saliency branch is on
      Saliency: Tensor option
      /// (B, K + 1, h, w) segmentation refined by the affinity (Eq. 15, 17): probabilities, or
      /// logits when the configuration refines logits (Config.Refines)
      RefinedSegmentation: Tensor option
      /// (B, 1, h, w) saliency refined by the affinity (Eq. 14, 16), when the affinity is
      /// constrained by saliency: probabilities, or logits as for the segmentation
      RefinedSaliency: Tensor option
      /// the learned affinity, for CAM refinement (Eq. 18)
      Affinity: CrossTaskAffinity option }

/// Two dilated 3x3 convolutions with ReLU (Sec. III-A: rates 6 then 12 -> 128 channels): the
/// task-specific features of the saliency and segmentation branches.
type DilatedBranch(inChannels: int64, channels: int64, rate1: int64, rate2: int64) as this =
    inherit torch.nn.Module<Tensor, Tensor>("DilatedBranch")
    let conv1 = torch.nn.Conv2d(inChannels, channels, 3L, padding = rate1, dilation = rate1)
    let conv2 = torch.nn.Conv2d(channels, channels, 3L, padding = rate2, dilation = rate2)
    do
        this.register_module("conv1", conv1)
        this.register_module("conv2", conv2)

    /// Children are registered by name above; no field reflection.
    override _.RegisterComponents() = ()

    /// (B, D, h, w) -> (B, C, h, w)
    override _.forward(x: Tensor) : Tensor =
        use h = conv1.forward(x).relu()
        conv2.forward(h).relu()

/// The AuxSegNet+ network (Fig. 1 / Fig. 3): shared backbone; classification branch (GAP + fc,
/// CAM = W . F); saliency and segmentation branches (dilated convolutions, cross-task affinity
/// module, 1x1 output conv; sigmoid / softmax); predictions refined by the learned affinity.
/// Which parts exist follows the configuration's Tab. IV / V / X switches.
type AuxSegNetNetwork(backbone: SharedBackbone, classes: int64, cfg: Config) as this =
    inherit torch.nn.Module("AuxSegNetNetwork")
    do Config.validate cfg |> ignore
    let channels = int64 cfg.BranchChannels
    let rate1, rate2 = int64 (fst cfg.Dilations), int64 (snd cfg.Dilations)
    let withSaliency = Branches.hasSaliency cfg.Branches
    // fc classifier as a bias-free 1x1 conv (weights W (K, D)), xavier-initialised as PSA's fc8
    let classifier = torch.nn.Conv2d(backbone.Channels, classes, 1L, bias = false)
    do torch.nn.init.xavier_uniform_ (classifier.weight) |> ignore
    let segBranch = new DilatedBranch(backbone.Channels, channels, rate1, rate2)
    let segHead = torch.nn.Conv2d(channels, classes + 1L, 1L)
    // the public code's third dilated conv, after the affinity-enhanced features (none by
    // default; Config.validate refuses it without an affinity)
    let postConv () =
        cfg.PostAffinityDilation |> Option.map (fun d -> torch.nn.Conv2d(channels, channels, 3L, padding = int64 d, dilation = int64 d))
    let segPost = postConv ()
    let salBranch = if withSaliency then Some(new DilatedBranch(backbone.Channels, channels, rate1, rate2)) else None
    let salHead = if withSaliency then Some(torch.nn.Conv2d(channels, 1L, 1L)) else None
    let salPost = if withSaliency then postConv () else None
    let affinity =
        let variant =
            match cfg.Kind with
            | Pairwise -> AffinityVariant.Pairwise
            | Dual -> AffinityVariant.Dual
        let chunk = cfg.ChunkRows |> Option.map int64 |> Option.toNullable
        let options source constraints =
            DualAffinityOptions(channels, variant, source, constraints, System.Nullable(), chunk)
        match cfg.Affinity with
        | NoAffinity -> None
        | SegmentationAffinity -> Some(new CrossTaskDualAffinity(options AffinitySource.SegmentationOnly AffinityConstraints.Segmentation))
        | CrossTaskSegmentationConstraint -> Some(new CrossTaskDualAffinity(options AffinitySource.CrossTask AffinityConstraints.Segmentation))
        | CrossTaskBothConstraints -> Some(new CrossTaskDualAffinity(options AffinitySource.CrossTask AffinityConstraints.SegmentationAndSaliency))
    do
        this.register_module("backbone", backbone.Module)
        this.register_module("classifier", classifier)
        this.register_module("seg_branch", segBranch)
        this.register_module("seg_head", segHead)
        match salBranch, salHead with
        | Some b, Some h ->
            this.register_module("sal_branch", b)
            this.register_module("sal_head", h)
        | _ -> ()
        match affinity with
        | Some a -> this.register_module("affinity", a)
        | None -> ()
        segPost |> Option.iter (fun c -> this.register_module("seg_post", c))
        salPost |> Option.iter (fun c -> this.register_module("sal_post", c))
        // the new layers on the device of the backbone (created on the CPU above)
        match backbone.Module.parameters () |> Seq.tryHead with
        | Some p when p.device.``type`` <> DeviceType.CPU -> this.``to``(p.device) |> ignore
        | _ -> ()

    /// Children are registered by name above; no field reflection.
    override _.RegisterComponents() = ()

    member _.Config = cfg
    member _.Classes = classes
    member _.Backbone = backbone

    /// Parameters of the backbone (base learning rate) and of the new layers (x the
    /// configuration's NewLayerLrMultiplier).
    member _.BackboneParameters = backbone.Module.parameters ()

    member _.NewLayerParameters =
        seq {
            yield! classifier.parameters ()
            yield! segBranch.parameters ()
            yield! segHead.parameters ()
            match salBranch, salHead with
            | Some b, Some h ->
                yield! b.parameters ()
                yield! h.parameters ()
            | _ -> ()
            match affinity with
            | Some a -> yield! a.parameters ()
            | None -> ()
            for c in Option.toList segPost @ Option.toList salPost do
                yield! c.parameters ()
        }

    /// Image-level logits (B, K) and raw CAMs (B, K, h, w) of features (B, D, h, w).
    member _.Classify(features: Tensor) : Tensor * Tensor =
        use pooled = torch.nn.functional.adaptive_avg_pool2d(features, [| 1L; 1L |])     // (B, D, 1, 1)
        use s = classifier.forward(pooled)                             // (B, K, 1, 1)
        let scores = s.flatten(1L)                                     // (B, K)
        let cam = torch.nn.functional.conv2d(features, classifier.weight)              // (B, K, h, w)
        scores, cam

    /// Backbone features (B, D, h, w) of normalised images (B, 3, H, W).
    member _.Features(images: Tensor) : Tensor = backbone.Features images

    /// The heads' predictions and the learned affinity, without refining by it
    /// (RefinedSegmentation and RefinedSaliency are None): what inference needs. No dispose
    /// scope of its own: the affinity keeps its embeddings alive for later refinement, so
    /// everything lives in the caller's scope.
    member this.Heads(images: Tensor) : Outputs =
        let features = this.Features images                            // (B, D, h, w)
        let scores, cam = this.Classify features
        let segFeatures = segBranch.forward(features)                  // (B, C, h, w)
        let salFeatures = salBranch |> Option.map (fun m -> m.forward(features)) // (B, C, h, w)
        let segFeatures, salFeatures, learned =
            match affinity with
            | None -> segFeatures, salFeatures, None
            | Some module' ->
                // without a saliency branch only the segmentation-only module exists, which
                // ignores its saliency input: the segmentation features stand in
                let out = module'.forward(defaultArg salFeatures segFeatures, segFeatures)
                out.SegmentationFeatures, (salFeatures |> Option.map (fun _ -> out.SaliencyFeatures)), Some out.Affinity
        let post (conv: Conv2d option) (f: Tensor) =
            match conv with
            | Some c -> c.forward(f).relu()                            // (B, C, h, w)
            | None -> f
        let segFeatures = post segPost segFeatures                     // (B, C, h, w)
        let salFeatures = salFeatures |> Option.map (post salPost)      // (B, C, h, w)
        let seg = segHead.forward(segFeatures)                          // (B, K + 1, h, w)
        let sal = Option.map2 (fun (h: Conv2d) f -> h.forward(f)) salHead salFeatures // (B, 1, h, w)
        { Scores = scores
          Cam = cam
          Segmentation = seg
          Saliency = sal
          RefinedSegmentation = None
          RefinedSaliency = None
          Affinity = learned }

    /// The full multi-task forward pass of training: the heads, then their predictions refined
    /// by the learned affinity (pairwise + unary, Eq. 14-17): their probabilities, or their
    /// logits when the configuration says so. Everything lives in the caller's dispose scope,
    /// as for Heads.
    member this.Forward(images: Tensor) : Outputs =
        let out = this.Heads images
        let refined (a: CrossTaskAffinity) (logits: Tensor) (probabilities: Tensor -> Tensor) =
            match cfg.Refines with
            | Probabilities -> AffinityRefinement.predictions a (probabilities logits)
            | Logits -> AffinityRefinement.predictions a logits
        let refinedSeg = out.Affinity |> Option.map (fun a -> refined a out.Segmentation (fun x -> x.softmax(1L)))
        let refinedSal =
            match out.Affinity, out.Saliency, cfg.Affinity with
            | Some a, Some s, CrossTaskBothConstraints -> Some(refined a s (fun x -> x.sigmoid ()))
            | _ -> None
        { out with
            RefinedSegmentation = refinedSeg
            RefinedSaliency = refinedSal }
