namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open System
open Hybrid.Wsss

/// The two hard thresholds of AuxSegNet+'s pseudo segmentation labels (Sec. IV-A: "thresholds
/// 0.2 and 0.06" on the normalised CAM and the normalised saliency map).
type CueThresholds = { Cam: float; Saliency: float }

/// AuxSegNet+ pseudo segmentation labels from a (multi-scale, affinity-refined) CAM and a
/// saliency map, as arrays.
module PseudoLabels =
    let paper = { Cam = 0.2; Saliency = 0.06 }

    /// Label of pixels left out of the loss.
    let ignoreIndex = 255

    /// Each pixel gets two cues: the CAM cue fires where the strongest present-class activation
    /// exceeds thresholds.Cam, the saliency cue where saliency >= thresholds.Saliency.
    ///  - both fire: foreground, the label of the strongest present class;
    ///  - neither fires: background (0);
    ///  - exactly one fires: ignore (255).
    /// The paper (Sec. III-A) only says it follows "the conventional procedures" of selecting
    /// object regions from CAMs and background from saliency "by hard thresholding"; the two
    /// cases it leaves open are resolved as ignore: a CAM-active pixel with low saliency is
    /// neither trusted as object (saliency disagrees) nor as background (the CAM disagrees),
    /// and a salient pixel no present-class CAM claims has no class to give. Labels are only
    /// ever 0, 255 or a present class. `saliency` is (H, W) row-major.
    let segmentation (thresholds: CueThresholds) (cams: ClassMaps) (saliency: float[]) : int[] =
        let n = ClassMaps.pixels cams
        if saliency.Length <> n then
            invalidArg
                (nameof saliency)
                (sprintf "The saliency map has %d pixels but the CAMs are %dx%d = %d; resize it to the CAM size." saliency.Length cams.Height cams.Width n)
        match saliency |> Array.tryFindIndex Double.IsNaN with
        | Some i -> invalidArg (nameof saliency) (sprintf "Saliency pixel %d is NaN." i)
        | None -> ()
        let value, label = ClassMaps.peak cams
        Array.init n (fun p ->
            let camFires = value.[p] > thresholds.Cam
            let salient = saliency.[p] >= thresholds.Saliency
            match camFires, salient with
            | true, true -> label.[p]
            | false, false -> 0
            | _ -> ignoreIndex)
