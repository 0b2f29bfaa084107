using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision;

/// <summary>Which part of the single-label source image is pasted (CSD Sec. 3.2).</summary>
public enum PasteRegion
{
    /// <summary>x_sm^fg: the source's foreground object; label = union of both images' labels.</summary>
    Foreground,
    /// <summary>x_sm^bg: the source's background (everything but its object); label = the target's.</summary>
    Background,
}

/// <summary>Where the source lands: target pixel (y, x) shows source pixel (y - Top, x - Left).</summary>
public readonly record struct PastePlacement(long Top, long Left);

/// <summary>
/// Copy-paste augmentation of CSD (Yang et al., BMVC 2023): a region of a single-label source
/// image (3, Hs, Ws) with its foreground mask (Hs, Ws) is pasted into a multi-label target
/// image (3, Ht, Wt) at a random place (the whole source translated by one offset, so the
/// source's teacher maps can be moved into the result frame with
/// <see cref="CopyPasteResult.ToResultFrame"/>).
///
/// Consistency masks (result frame, bool (Ht, Wt)): CSD's L_fg (Eq. 3) is summed over the
/// pixels of the source's foreground mask M_fg and L_bg (Eq. 5) over its background mask M_bg,
/// each where that part is actually visible in the augmented image. So a foreground paste gives
/// <c>ForegroundMask</c> = the pasted object's visible pixels and an empty
/// <c>BackgroundMask</c>; a background paste gives the visible pasted background pixels as
/// <c>BackgroundMask</c> and an empty <c>ForegroundMask</c>. (Eq. 5 of the paper names
/// M_sm^fg, which we read as a typo for the background-pasted view: on the foreground view the
/// source's background positions show target content, which its background score cannot
/// supervise.) The paper does not say how much of the background is pasted: by default the whole
/// source background, optionally only a window of it around the object.
///
/// Blending: a hard paste, or with `featherRadius` r > 0 a soft edge inside the pasted region
/// (alpha = mask * box-blur_r(mask)); pixels outside the region are never touched, and a pixel
/// counts as visible where alpha &gt;= 0.5.
/// </summary>
public static class CopyPaste
{
    /// <summary>Pastes the source's foreground into the target (x_sm^fg).</summary>
    public static CopyPasteResult PasteForeground(Tensor source, Tensor sourceForeground, Tensor sourceLabels, Tensor target, Tensor targetLabels, Random rng, int featherRadius = 0, PastePlacement? placement = null) =>
        Paste(PasteRegion.Foreground, source, sourceForeground, sourceLabels, target, targetLabels, rng, featherRadius, placement, null);

    /// <summary>
    /// Pastes the source's background (the complement of its foreground) into the target
    /// (x_sm^bg). `windowMargin` limits it to the foreground's bounding box grown by that many
    /// pixels on each side (null = the whole source).
    /// </summary>
    public static CopyPasteResult PasteBackground(Tensor source, Tensor sourceForeground, Tensor sourceLabels, Tensor target, Tensor targetLabels, Random rng, int featherRadius = 0, PastePlacement? placement = null, int? windowMargin = null) =>
        Paste(PasteRegion.Background, source, sourceForeground, sourceLabels, target, targetLabels, rng, featherRadius, placement, windowMargin);

    /// <summary>Both views of one source/target pair at one placement (CSD's L_fg and L_bg inputs).</summary>
    public static (CopyPasteResult foreground, CopyPasteResult background) PasteBoth(Tensor source, Tensor sourceForeground, Tensor sourceLabels, Tensor target, Tensor targetLabels, Random rng, int featherRadius = 0, int? windowMargin = null)
    {
        var fg = PasteForeground(source, sourceForeground, sourceLabels, target, targetLabels, rng, featherRadius);
        var bg = PasteBackground(source, sourceForeground, sourceLabels, target, targetLabels, rng, featherRadius, fg.Placement, windowMargin);
        return (fg, bg);
    }

    /// <summary>The general paste: `region` of the source (foreground or background) into the target.</summary>
    public static CopyPasteResult Paste(PasteRegion region, Tensor source, Tensor sourceForeground, Tensor sourceLabels, Tensor target, Tensor targetLabels, Random rng, int featherRadius = 0, PastePlacement? placement = null, int? windowMargin = null)
    {
        CheckImage(source, "source");
        CheckImage(target, "target");
        var (hs, ws) = (source.size(1), source.size(2));
        var (ht, wt) = (target.size(1), target.size(2));
        if (sourceForeground.dim() != 2 || sourceForeground.size(0) != hs || sourceForeground.size(1) != ws)
            throw new ArgumentException($"copy-paste: the source foreground mask must be (H, W) = ({hs}, {ws}), got [{string.Join(", ", sourceForeground.shape)}]");
        if (sourceLabels.dim() != 1 || !sourceLabels.shape.SequenceEqual(targetLabels.shape))
            throw new ArgumentException($"copy-paste: label vectors must be (C) of one length, got [{string.Join(", ", sourceLabels.shape)}] and [{string.Join(", ", targetLabels.shape)}]");
        if (featherRadius < 0) throw new ArgumentOutOfRangeException(nameof(featherRadius), "featherRadius must be >= 0");
        if (windowMargin is < 0) throw new ArgumentOutOfRangeException(nameof(windowMargin), "windowMargin must be >= 0");

        using var scope = torch.NewDisposeScope();
        var fg = ToMask(sourceForeground);                                // (Hs, Ws) float 0/1
        var bbox = BoundingBox(fg) ?? throw new ArgumentException("copy-paste: the source foreground mask is empty; there is no object to paste (or to cut around)");
        var pasteMask = region == PasteRegion.Foreground ? fg : 1.0 - fg; // (Hs, Ws)
        if (region == PasteRegion.Background && windowMargin is { } m)
        {
            var window = torch.zeros(new[] { hs, ws }, pasteMask.dtype, pasteMask.device); // (Hs, Ws)
            var (y0, x0, y1, x1) = (Math.Max(0, bbox.y0 - m), Math.Max(0, bbox.x0 - m), Math.Min(hs, bbox.y1 + m), Math.Min(ws, bbox.x1 + m));
            window.slice(0, y0, y1, 1).slice(1, x0, x1, 1).fill_(1);
            pasteMask = pasteMask * window;
        }
        var box = BoundingBox(pasteMask) ?? throw new ArgumentException($"copy-paste: the source has no {region.ToString().ToLowerInvariant()} pixels to paste");
        var place = placement ?? RandomPlacement(box, ht, wt, rng);

        // Source-frame alpha, then everything moved into the target frame by one offset.
        var alphaSrc = featherRadius == 0 ? pasteMask : pasteMask * Blur(pasteMask, featherRadius); // (Hs, Ws) in [0, 1]
        var alpha = Translate(alphaSrc.unsqueeze(0), place, ht, wt, 0).squeeze(0);  // (Ht, Wt)
        var srcT = Translate(source.to(target.dtype), place, ht, wt, 0);           // (3, Ht, Wt)
        var changed = alpha.gt(0);                                                 // (Ht, Wt)
        var blended = srcT * alpha + target * (1.0 - alpha);                        // (3, Ht, Wt)
        var image = torch.where(changed.unsqueeze(0), blended, target);             // (3, Ht, Wt): untouched outside
        var visible = alpha.ge(0.5);                                                // (Ht, Wt)
        var none = torch.zeros(new[] { ht, wt }, ScalarType.Bool, target.device);
        var labels = region == PasteRegion.Foreground ? targetLabels.maximum(sourceLabels.to(targetLabels.dtype)) : targetLabels.clone(); // (C)
        var result = new CopyPasteResult(
            region,
            image.MoveToOuterDisposeScope(),
            labels.MoveToOuterDisposeScope(),
            (region == PasteRegion.Foreground ? visible : none).MoveToOuterDisposeScope(),
            (region == PasteRegion.Background ? visible : none.clone()).MoveToOuterDisposeScope(),
            changed.MoveToOuterDisposeScope(),
            place, hs, ws);
        return result;
    }

    /// <summary>
    /// A uniform random offset that puts the pasted region's bounding box (y0, x0, y1, x1),
    /// half-open, inside a (ht, wt) target; along a side where it does not fit, the offsets
    /// keep the target covered by it.
    /// </summary>
    public static PastePlacement RandomPlacement((long y0, long x0, long y1, long x1) box, long ht, long wt, Random rng)
    {
        static long Pick(long lo, long hi, long size, Random r)
        {
            // Offsets o with lo + o >= 0 and hi + o <= size; when the box is larger than the
            // target, the reverse inequalities define the valid range.
            var a = -lo; var b = size - hi;
            if (a > b) (a, b) = (b, a);
            return a + r.NextInt64(b - a + 1);
        }
        return new PastePlacement(Pick(box.y0, box.y1, ht, rng), Pick(box.x0, box.x1, wt, rng));
    }

    /// <summary>Half-open bounding box (y0, x0, y1, x1) of the non-zero pixels of (H, W), or null.</summary>
    public static (long y0, long x0, long y1, long x1)? BoundingBox(Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var nz = mask.gt(0).nonzero();                                    // (n, 2)
        if (nz.size(0) == 0) return null;
        var l = nz.amin(0).cpu().data<long>().ToArray();                  // (2): first row and column
        var h = nz.amax(0).cpu().data<long>().ToArray();                  // (2): last row and column
        return (l[0], l[1], h[0] + 1, h[1] + 1);
    }

    /// <summary>Moves a map (K, Hs, Ws) by `place` into a (K, ht, wt) canvas filled with `fill`.</summary>
    internal static Tensor Translate(Tensor map, PastePlacement place, long ht, long wt, double fill)
    {
        var (k, hs, ws) = (map.size(0), map.size(1), map.size(2));
        var canvas = torch.full(new[] { k, ht, wt }, fill, map.dtype, map.device); // (K, Ht, Wt)
        var ty0 = Math.Max(0, place.Top); var ty1 = Math.Min(ht, hs + place.Top);
        var tx0 = Math.Max(0, place.Left); var tx1 = Math.Min(wt, ws + place.Left);
        if (ty0 >= ty1 || tx0 >= tx1) return canvas;
        using var dst = canvas.slice(1, ty0, ty1, 1).slice(2, tx0, tx1, 1); // view (K, h, w)
        using var src = map.slice(1, ty0 - place.Top, ty1 - place.Top, 1).slice(2, tx0 - place.Left, tx1 - place.Left, 1); // (K, h, w)
        dst.copy_(src);                                                   // keeps autograd: the canvas joins the graph
        return canvas;
    }

    private static Tensor ToMask(Tensor m) =>
        m.dtype == ScalarType.Bool ? m.to(ScalarType.Float32) : m.gt(0.5).to(ScalarType.Float32); // (H, W) 0/1

    /// <summary>Box blur with radius r, zero outside: (H, W) -> (H, W).</summary>
    private static Tensor Blur(Tensor m, int r)
    {
        using var x = m.view(1, 1, m.size(0), m.size(1));                 // (1, 1, H, W)
        using var b = F.avg_pool2d(x, new long[] { 2 * r + 1, 2 * r + 1 }, new long[] { 1, 1 }, new long[] { r, r }, count_include_pad: true); // (1, 1, H, W)
        return b.view(m.size(0), m.size(1));                              // (H, W)
    }

    private static void CheckImage(Tensor t, string name)
    {
        if (t.dim() != 3 || t.size(0) != 3)
            throw new ArgumentException($"copy-paste: the {name} image must be (3, H, W), got [{string.Join(", ", t.shape)}]");
        if (!torch.is_floating_point(t.dtype))
            throw new ArgumentException($"copy-paste: the {name} image must be floating point, got {t.dtype}; convert it with .to(ScalarType.Float32)");
    }
}

/// <summary>One copy-paste view. Dispose it (or let the enclosing dispose scope do it).</summary>
public sealed class CopyPasteResult : IDisposable
{
    public PasteRegion Region { get; }
    /// <summary>Augmented image (3, Ht, Wt).</summary>
    public Tensor Image { get; }
    /// <summary>Image-level labels (C): the union for a foreground paste, the target's for a background paste.</summary>
    public Tensor Labels { get; }
    /// <summary>Pixels showing the pasted source foreground (Ht, Wt) bool: L_fg's region.</summary>
    public Tensor ForegroundMask { get; }
    /// <summary>Pixels showing the pasted source background (Ht, Wt) bool: L_bg's region.</summary>
    public Tensor BackgroundMask { get; }
    /// <summary>Every pixel the paste changed (Ht, Wt) bool; the rest equals the target.</summary>
    public Tensor PastedMask { get; }
    public PastePlacement Placement { get; }
    public long SourceHeight { get; }
    public long SourceWidth { get; }

    internal CopyPasteResult(PasteRegion region, Tensor image, Tensor labels, Tensor fg, Tensor bg, Tensor pasted, PastePlacement placement, long hs, long ws)
    {
        Region = region; Image = image; Labels = labels; ForegroundMask = fg; BackgroundMask = bg; PastedMask = pasted;
        Placement = placement; SourceHeight = hs; SourceWidth = ws;
    }

    /// <summary>
    /// Moves a map aligned with the source image, (..., Hs, Ws) (e.g. the teacher's class
    /// scores M_s), into the result frame (..., Ht, Wt), `fill` where the source does not land.
    /// </summary>
    public Tensor ToResultFrame(Tensor sourceMap, double fill = 0)
    {
        var s = sourceMap.shape;
        if (s.Length < 2 || s[^2] != SourceHeight || s[^1] != SourceWidth)
            throw new ArgumentException($"ToResultFrame: the map [{string.Join(", ", s)}] must end in the source size ({SourceHeight}, {SourceWidth})");
        var (ht, wt) = (Image.size(1), Image.size(2));
        var lead = s.Take(s.Length - 2).ToArray();
        using var flat = sourceMap.reshape(-1, SourceHeight, SourceWidth);   // (K, Hs, Ws)
        using var moved = CopyPaste.Translate(flat, Placement, ht, wt, fill); // (K, Ht, Wt)
        return moved.reshape(lead.Append(ht).Append(wt).ToArray());         // (..., Ht, Wt)
    }

    public void Dispose()
    {
        Image.Dispose(); Labels.Dispose(); ForegroundMask.Dispose(); BackgroundMask.Dispose(); PastedMask.Dispose();
    }
}
