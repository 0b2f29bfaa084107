/// CSD's copy-paste: labels, masks, placement, feathering, refusals.
module Hybrid.Vision.Tests.CopyPasteTests

open System
open Expecto
open TorchSharp
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit

let private hs, ws, ht, wt = 10L, 12L, 16L, 14L

/// A source with a 4x5 object (rows 3..6, cols 2..6) and distinct images.
let private pair () =
    let src = rand 151L [| 3L; hs; ws |]
    let fg = torch.zeros([| hs; ws |], ScalarType.Bool)
    fg.slice(0L, 3L, 7L, 1L).slice(1L, 2L, 7L, 1L).fill_(sBool true) |> ignore
    fg[3L, 2L].fill_(sBool false) |> ignore                                        // not a perfect rectangle
    let tgt = rand 152L [| 3L; ht; wt |] + 2.0                               // values disjoint from the source's
    let srcLab = floatTensor [| 0.0f; 1.0f; 0.0f; 0.0f |] [| 4L |]
    let tgtLab = floatTensor [| 1.0f; 0.0f; 0.0f; 1.0f |] [| 4L |]
    src, fg, srcLab, tgt, tgtLab

let private anyTrue (t: Tensor) = isTrue (t.any ())

[<Tests>]
let tests =
    testList "Modules.CopyPaste" [
        testCase "Foreground paste unions labels, keeps masks inside and the rest unchanged" (fun () ->
            use _scope = torch.NewDisposeScope()
            let src, fg, srcLab, tgt, tgtLab = pair ()
            for seed in 0 .. 4 do
                use r = CopyPaste.PasteForeground(src, fg, srcLab, tgt, tgtLab, Random seed)
                Expect.equal (floats r.Labels) [| 1.0f; 1.0f; 0.0f; 1.0f |] "union of labels"
                Expect.equal r.Image.shape [| 3L; ht; wt |] "image shape"
                let fgT = r.ToResultFrame(fg.to_type ScalarType.Float32).gt(sFloat 0.5)  // source object in the result frame
                // The object lies fully inside the target (it fits), so all 19 of its pixels are visible.
                Expect.equal (scalarLong (r.ForegroundMask.sum ())) 19L "all 19 object pixels visible"
                Expect.isTrue (same r.ForegroundMask fgT) "foreground mask = the moved object"
                Expect.isFalse (anyTrue (r.ForegroundMask.logical_and(r.PastedMask.logical_not ()))) "foreground mask inside the pasted pixels"
                Expect.isFalse (anyTrue r.BackgroundMask) "no background mask"
                // Outside the paste: the target, bit for bit; inside: the source pixels.
                let outside = r.PastedMask.logical_not().unsqueeze(0L).expand(3L, ht, wt)
                Expect.isTrue (same (r.Image.masked_select outside) (tgt.masked_select outside)) "target outside the paste"
                let inside = r.ForegroundMask.unsqueeze(0L).expand(3L, ht, wt)
                Expect.isTrue (same (r.Image.masked_select inside) ((r.ToResultFrame src).masked_select inside)) "source inside"
                // Placement keeps the object's box (rows 3..6, cols 2..6) inside the target.
                inRange -3L (ht - 7L) r.Placement.Top "top"
                inRange -2L (wt - 7L) r.Placement.Left "left"
            // Seeded: the same seed gives the same placement.
            use a = CopyPaste.PasteForeground(src, fg, srcLab, tgt, tgtLab, Random 42)
            use b = CopyPaste.PasteForeground(src, fg, srcLab, tgt, tgtLab, Random 42)
            Expect.equal a.Placement b.Placement "same seed, same placement")

        testCase "Background paste keeps target labels and marks source background" (fun () ->
            use _scope = torch.NewDisposeScope()
            let src, fg, srcLab, tgt, tgtLab = pair ()
            let struct (f, bgView) = CopyPaste.PasteBoth(src, fg, srcLab, tgt, tgtLab, Random 7, windowMargin = Nullable 2)
            use _f = f
            use r = bgView
            Expect.equal r.Placement f.Placement "one placement for both views"
            Expect.isTrue (same r.Labels tgtLab) "target labels"
            Expect.isFalse (anyTrue r.ForegroundMask) "no foreground mask"
            let fgT = r.ToResultFrame(fg.to_type ScalarType.Float32, fill = 0.0).gt(sFloat 0.5)
            Expect.isFalse (anyTrue (r.BackgroundMask.logical_and fgT)) "background mask covers the source object"
            Expect.isFalse (anyTrue (r.BackgroundMask.logical_and f.ForegroundMask)) "disjoint from the foreground view's mask"
            // Window: the object's box (rows 3..6, cols 2..6) grown by 2 = rows 1..8, cols 0..8
            // (8 x 9 = 72 px; clipped at column 0), minus the 19 object pixels; it fits, so all visible.
            Expect.equal (scalarLong (r.BackgroundMask.sum ())) (72L - 19L) "window minus the object"
            let outside = r.PastedMask.logical_not().unsqueeze(0L).expand(3L, ht, wt)
            Expect.isTrue (same (r.Image.masked_select outside) (tgt.masked_select outside)) "target outside the paste"
            // The target shows through the object's hole.
            let hole = fgT.unsqueeze(0L).expand(3L, ht, wt)
            Expect.isTrue (same (r.Image.masked_select hole) (tgt.masked_select hole)) "target through the hole")

        testCase "Feathered paste changes only pixels of the pasted region" (fun () ->
            use _scope = torch.NewDisposeScope()
            let src, fg, srcLab, tgt, tgtLab = pair ()
            use r = CopyPaste.PasteForeground(src, fg, srcLab, tgt, tgtLab, Random 3, featherRadius = 1)
            let fgT = r.ToResultFrame(fg.to_type ScalarType.Float32).gt(sFloat 0.5)
            Expect.isFalse (anyTrue (r.PastedMask.logical_and(fgT.logical_not ()))) "the soft edge leaked outside the object"
            Expect.isFalse (anyTrue (r.ForegroundMask.logical_and(fgT.logical_not ()))) "foreground mask inside the object"
            Expect.isTrue (scalarLong (r.ForegroundMask.sum ()) > 0L) "some pixels visible"
            let outside = r.PastedMask.logical_not().unsqueeze(0L).expand(3L, ht, wt)
            Expect.isTrue (same (r.Image.masked_select outside) (tgt.masked_select outside)) "target outside the paste"
            // Edge pixels are blends: strictly between source and target values somewhere.
            let diffToSrc = (r.Image - r.ToResultFrame src).abs().masked_select(fgT.unsqueeze(0L).expand(3L, ht, wt))
            Expect.isTrue (scalar (diffToSrc.max ()) > 1e-3) "blended edge")

        testCase "Bad inputs are refused with a reason" (fun () ->
            use _scope = torch.NewDisposeScope()
            let src, fg, srcLab, tgt, tgtLab = pair ()
            let empty = torch.zeros([| hs; ws |], ScalarType.Bool)
            let e = raises<ArgumentException> "empty mask" (fun () -> CopyPaste.PasteForeground(src, empty, srcLab, tgt, tgtLab, Random 1) |> ignore)
            Expect.stringContains e.Message "empty" "says the mask is empty"
            raises<ArgumentException> "one-channel source" (fun () -> CopyPaste.PasteForeground(src.narrow(0L, 0L, 1L), fg, srcLab, tgt, tgtLab, Random 1) |> ignore) |> ignore
            raises<ArgumentException> "mask of another size" (fun () -> CopyPaste.PasteForeground(src, fg.narrow(0L, 0L, 5L), srcLab, tgt, tgtLab, Random 1) |> ignore) |> ignore)
    ]
