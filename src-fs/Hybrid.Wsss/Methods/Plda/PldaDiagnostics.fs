namespace Hybrid.Wsss.Methods.Plda

open TorchSharp
open Hybrid.Wsss

/// What PLDA's domains and pseudo labels looked like during a run, accumulated over steps
/// whose batches carry ground-truth masks (never used for training; for finding out why a
/// run helps or not). Precision = the fraction of pixels whose GT class (at the CAM's
/// resolution, nearest) is the class they were assigned / supervised with.
type PldaDiagnostics() =
    let mutable steps = 0
    let mutable pixels = 0L
    let mutable source = 0L
    let mutable sourceHit = 0L
    let mutable target = 0L
    let mutable targetHit = 0L
    let mutable cpsS = 0L
    let mutable cpsSHit = 0L
    let mutable cpsT = 0L
    let mutable cpsTHit = 0L
    let mutable foreground = 0L

    let ratio (a: int64) (b: int64) = if b = 0L then nan else float a / float b

    /// Steps observed.
    member _.Steps = steps
    /// Fraction of CAM pixels in the source / target domain.
    member _.SourceFraction = ratio source pixels
    member _.TargetFraction = ratio target pixels
    /// Fraction of CAM pixels that are GT foreground.
    member _.ForegroundFraction = ratio foreground pixels
    /// Precision of the domain assignment's class per domain.
    member _.SourcePrecision = ratio sourceHit source
    member _.TargetPrecision = ratio targetHit target
    /// Fraction of pixels supervised by each CPS term, and the precision of their labels.
    member _.CpsSourceFraction = ratio cpsS pixels
    member _.CpsTargetFraction = ratio cpsT pixels
    member _.CpsSourcePrecision = ratio cpsSHit cpsS
    member _.CpsTargetPrecision = ratio cpsTHit cpsT
    /// Fraction of the GT foreground covered by source or target (recall of the domains).
    member _.DomainRecall = ratio (sourceHit + targetHit) foreground

    /// GT masks (B, H, W) at the CAM's resolution (h, w), nearest: (B, h, w) int64.
    static member Downsample (masks: Tensor) (h: int64) (w: int64) : Tensor =
        use scope = torch.NewDisposeScope()
        let m = masks.unsqueeze(1L).to_type ScalarType.Float32          // (B, 1, H, W)
        let d = torch.nn.functional.interpolate (m, [| h; w |], mode = InterpolationMode.Nearest) // (B, 1, h, w)
        (d.squeeze(1L).to_type ScalarType.Int64).MoveToOuterDisposeScope()

    /// Adds one step: GT (B, h, w) at the CAM's resolution, the domains, the supervised CPS
    /// labels of each term (B, h, w) with 255 = none (None when the term is off).
    member _.Observe (gt: Tensor) (domains: Domains) (cpsSource: Tensor option) (cpsTarget: Tensor option) =
        use _ng = torch.no_grad ()
        use scope = torch.NewDisposeScope()
        let count (t: Tensor) = Host.item<int64> (t.sum())
        let cls = domains.Head + 1L                                     // (B, h, w) label of the assigned class
        let hit = gt.eq cls                                             // (B, h, w)
        steps <- steps + 1
        pixels <- pixels + gt.numel ()
        foreground <- foreground + count (gt.gt(0.0).logical_and (gt.ne 255.0))
        source <- source + count domains.Source
        target <- target + count domains.Target
        sourceHit <- sourceHit + count (hit.logical_and domains.Source)
        targetHit <- targetHit + count (hit.logical_and domains.Target)
        let cps (labels: Tensor) =
            let sup = labels.ne 255.0
            count sup, count (sup.logical_and (labels.eq gt))
        cpsSource |> Option.iter (fun l -> let n, k = cps l in cpsS <- cpsS + n; cpsSHit <- cpsSHit + k)
        cpsTarget |> Option.iter (fun l -> let n, k = cps l in cpsT <- cpsT + n; cpsTHit <- cpsTHit + k)

    override d.ToString() =
        sprintf "steps %d | fg %.3f | source %.3f (precision %.3f) | target %.3f (precision %.3f) | domain recall of fg %.3f | cps_s %.3f (precision %.3f) | cps_t %.3f (precision %.3f)"
            d.Steps d.ForegroundFraction d.SourceFraction d.SourcePrecision d.TargetFraction d.TargetPrecision d.DomainRecall
            d.CpsSourceFraction d.CpsSourcePrecision d.CpsTargetFraction d.CpsTargetPrecision
