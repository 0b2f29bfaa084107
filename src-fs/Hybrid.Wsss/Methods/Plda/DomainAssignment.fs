namespace Hybrid.Wsss.Methods.Plda

open TorchSharp
open Hybrid.Vision
open Hybrid.Wsss

type private F = torch.nn.functional

/// The domains of one batch, all at the CAM's resolution (h, w). K foreground classes.
type Domains =
    { /// (B, h, w) int64, the labels of the domain loss: DomainAdversarialLoss.Source (0),
      /// .Target (1), .Ignore (255) for neither.
      Domain: Tensor
      /// (B, h, w) int64: the class (head) each assigned pixel belongs to, -1 where unassigned.
      Head: Tensor
      /// (B, h, w) bool: the source domain (discriminative object parts).
      Source: Tensor
      /// (B, h, w) bool: the target domain (non-discriminative parts), disjoint from Source.
      Target: Tensor
      /// (B, K, h, w): the class activation distribution of each pixel (the normalised CAM of
      /// the pixel's domain over the present classes, summing to 1 where any is active): the
      /// class weights of MADA.
      Distribution: Tensor }

/// Domain assignment (Sec. III-D): which pixels form the source and which the target domain.
module DomainAssignment =
    let private checkMaps (name: string) (ncam: Tensor) (labels: Tensor) =
        if ncam.dim () <> 4 || labels.dim () <> 2 || ncam.size 0 <> labels.size 0 || ncam.size 1 <> labels.size 1 then
            invalidArg name (sprintf "domain assignment needs CAMs (B, K, h, w) and labels (B, K), got [%s] and [%s]" (ncam.shape |> Array.map string |> String.concat ", ") (labels.shape |> Array.map string |> String.concat ", "))

    /// The CAM the thresholds apply to: relu, divided by each class's spatial max, absent
    /// classes zero. raw scores (B, K, h, w), labels (B, K) -> (B, K, h, w) in [0, 1], no gradient.
    let normalise (scores: Tensor) (labels: Tensor) : Tensor =
        checkMaps (nameof scores) scores labels
        use d = scores.detach ()
        Cam.normaliseMax d labels

    /// Pixels where some present class's normalised CAM exceeds delta: (B, K, h, w) -> (B, h, w) bool.
    let above (delta: float) (ncam: Tensor) : Tensor =
        use best = ncam.amax ([| 1L |])                                  // (B, h, w)
        best.gt delta

    /// Pixels whose best normalised CAM lies in (low, high]: (B, K, h, w) -> (B, h, w) bool.
    let between (low: float) (high: float) (ncam: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let best = ncam.amax ([| 1L |])                                  // (B, h, w)
        (best.gt(low).logical_and (best.le high)).MoveToOuterDisposeScope()

    /// The source mask (B, h, w) bool at image resolution (H, W), nearest neighbour (each CAM
    /// cell covers its stride x stride block): (B, 1, H, W) bool.
    let upsampleMask (height: int64) (width: int64) (mask: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let m = mask.unsqueeze(1L).to_type ScalarType.Float32           // (B, 1, h, w)
        let up = F.interpolate (m, [| height; width |], mode = InterpolationMode.Nearest) // (B, 1, H, W)
        (up.gt 0.5).MoveToOuterDisposeScope()

    /// Eq. 6: erases the source pixels from normalised images (sets them to 0, the dataset
    /// mean): images (B, 3, H, W), source (B, h, w) bool -> (B, 3, H, W).
    let erase (images: Tensor) (source: Tensor) : Tensor =
        if images.dim () <> 4 || source.dim () <> 3 || images.size 0 <> source.size 0 then
            invalidArg (nameof source) (sprintf "erase needs images (B, 3, H, W) and a source mask (B, h, w), got [%s] and [%s]" (images.shape |> Array.map string |> String.concat ", ") (source.shape |> Array.map string |> String.concat ", "))
        use scope = torch.NewDisposeScope()
        let m = upsampleMask (images.size 2) (images.size 3) source      // (B, 1, H, W)
        (images.masked_fill (m, 0.0)).MoveToOuterDisposeScope()         // (B, 3, H, W)

    /// The class activation distribution: the normalised CAM divided by its sum over classes
    /// (0 where no class is active). (B, K, h, w) -> (B, K, h, w).
    let distribution (ncam: Tensor) : Tensor =
        use s = ncam.sum(1L, keepdim = true).clamp_min 1e-8            // (B, 1, h, w)
        ncam / s

    /// Builds the domain record from the two masks and the CAM each domain is read from
    /// (source pixels from sourceCam, target pixels from targetCam). Source wins ties.
    /// The labels and heads are DomainAdversarialLoss's: one source / target mask pair for
    /// every class gives the domain map, and a pixel's head is the argmax class of its
    /// domain's normalised CAM (absent classes are 0 there, ties go to the lower index).
    let private build (source: Tensor) (target: Tensor) (sourceCam: Tensor) (targetCam: Tensor) : Domains =
        use scope = torch.NewDisposeScope()
        let target = target.logical_and (source.logical_not ())          // (B, h, w), disjoint
        let domain = DomainAdversarialLoss.LabelsFromMasks(source.unsqueeze 1L, target.unsqueeze 1L).squeeze 1L // (B, h, w)
        let srcHead = DomainAdversarialLoss.HeadsFromCam sourceCam      // (B, h, w)
        let tgtHead = DomainAdversarialLoss.HeadsFromCam(targetCam, target) // (B, h, w), -1 outside the target
        let head = torch.where (source, srcHead, tgtHead)               // (B, h, w), -1 where unassigned
        let sel = source.unsqueeze(1L).expand_as (sourceCam)            // (B, K, h, w)
        let dist = torch.where (sel, distribution sourceCam, distribution targetCam) // (B, K, h, w)
        { Domain = domain.MoveToOuterDisposeScope()
          Head = head.MoveToOuterDisposeScope()
          Source = source.clone().MoveToOuterDisposeScope()
          Target = target.MoveToOuterDisposeScope()
          Distribution = dist.MoveToOuterDisposeScope() }

    /// MaskAssign (Eq. 6): source = ncam > delta; target = maskedNcam > delta outside the source,
    /// where maskedNcam is the normalised CAM of the image with the source erased.
    /// ncam, maskedNcam (B, K, h, w) normalised.
    let maskAssign (delta: float) (ncam: Tensor) (maskedNcam: Tensor) : Domains =
        if ncam.shape <> maskedNcam.shape then
            invalidArg (nameof maskedNcam) "MaskAssign: the CAM and the masked CAM must have the same shape"
        use source = above delta ncam                                    // (B, h, w)
        use target = above delta maskedNcam                              // (B, h, w)
        build source target ncam maskedNcam

    /// SimpleAssign (Tab. VIII): two thresholds on one CAM, source = ncam > delta,
    /// target = low < ncam <= delta.
    let simpleAssign (delta: float) (low: float) (ncam: Tensor) : Domains =
        if not (low < delta) then invalidArg (nameof low) (sprintf "SimpleAssign needs low < delta, got %g >= %g" low delta)
        use source = above delta ncam
        use target = between low delta ncam
        build source target ncam ncam
