using Hybrid.Torch;
using static Hybrid.Vision.Tests.Modules.ModulesTestKit;

namespace Hybrid.Vision.Tests.Modules;

public class CopyPasteTests
{
    private const long Hs = 10, Ws = 12, Ht = 16, Wt = 14;

    /// <summary>A source with a 4x5 object (rows 3..6, cols 2..6) and distinct images.</summary>
    private static (Tensor src, Tensor fg, Tensor srcLab, Tensor tgt, Tensor tgtLab) Pair()
    {
        var src = Rand(151, 3, Hs, Ws);
        var fg = torch.zeros(new[] { Hs, Ws }, ScalarType.Bool);
        fg.slice(0, 3, 7).slice(1, 2, 7).fill_(1);
        fg[3, 2].fill_(0);                                                // not a perfect rectangle
        var tgt = Rand(152, 3, Ht, Wt) + 2;                               // values disjoint from the source's
        var srcLab = torch.tensor(new float[] { 0, 1, 0, 0 });
        var tgtLab = torch.tensor(new float[] { 1, 0, 0, 1 });
        return (src, fg, srcLab, tgt, tgtLab);
    }

    [Fact]
    public void Foreground_paste_unions_labels_keeps_masks_inside_and_the_rest_unchanged()
    {
        using var scope = torch.NewDisposeScope();
        var (src, fg, srcLab, tgt, tgtLab) = Pair();
        for (var seed = 0; seed < 5; seed++)
        {
            using var r = CopyPaste.PasteForeground(src, fg, srcLab, tgt, tgtLab, new Random(seed));
            Assert.Equal(new float[] { 1, 1, 0, 1 }, r.Labels.data<float>());
            Assert.Equal(new[] { 3L, Ht, Wt }, r.Image.shape);
            var fgT = r.ToResultFrame(fg.to(ScalarType.Float32)).gt(0.5);  // source object in the result frame
            // The object lies fully inside the target (it fits), so all 19 of its pixels are visible.
            Assert.Equal(19L, r.ForegroundMask.sum().item<long>());
            Assert.True(r.ForegroundMask.equal(fgT));
            Assert.True(r.ForegroundMask.logical_and(r.PastedMask.logical_not()).any().item<bool>() == false);
            Assert.False(r.BackgroundMask.any().item<bool>());
            // Outside the paste: the target, bit for bit; inside: the source pixels.
            var outside = r.PastedMask.logical_not().unsqueeze(0).expand(3, Ht, Wt);
            Assert.True(r.Image.masked_select(outside).equal(tgt.masked_select(outside)));
            var inside = r.ForegroundMask.unsqueeze(0).expand(3, Ht, Wt);
            Assert.True(r.Image.masked_select(inside).equal(r.ToResultFrame(src).masked_select(inside)));
            // Placement keeps the object's box (rows 3..6, cols 2..6) inside the target.
            Assert.InRange(r.Placement.Top, -3, Ht - 7);
            Assert.InRange(r.Placement.Left, -2, Wt - 7);
        }
        // Seeded: the same seed gives the same placement.
        using var a = CopyPaste.PasteForeground(src, fg, srcLab, tgt, tgtLab, new Random(42));
        using var b = CopyPaste.PasteForeground(src, fg, srcLab, tgt, tgtLab, new Random(42));
        Assert.Equal(a.Placement, b.Placement);
    }

    [Fact]
    public void Background_paste_keeps_target_labels_and_marks_source_background()
    {
        using var scope = torch.NewDisposeScope();
        var (src, fg, srcLab, tgt, tgtLab) = Pair();
        var (f, bgView) = CopyPaste.PasteBoth(src, fg, srcLab, tgt, tgtLab, new Random(7), windowMargin: 2);
        using var _f = f;
        using var r = bgView;
        Assert.Equal(f.Placement, r.Placement);
        Assert.True(r.Labels.equal(tgtLab));
        Assert.False(r.ForegroundMask.any().item<bool>());
        var fgT = r.ToResultFrame(fg.to(ScalarType.Float32), fill: 0).gt(0.5);
        Assert.False(r.BackgroundMask.logical_and(fgT).any().item<bool>(), "background mask covers the source object");
        Assert.False(r.BackgroundMask.logical_and(f.ForegroundMask).any().item<bool>());
        // Window: the object's box (rows 3..6, cols 2..6) grown by 2 = rows 1..8, cols 0..8
        // (8 x 9 = 72 px; clipped at column 0), minus the 19 object pixels; it fits, so all visible.
        Assert.Equal(72L - 19, r.BackgroundMask.sum().item<long>());
        var outside = r.PastedMask.logical_not().unsqueeze(0).expand(3, Ht, Wt);
        Assert.True(r.Image.masked_select(outside).equal(tgt.masked_select(outside)));
        // The target shows through the object's hole.
        var hole = fgT.unsqueeze(0).expand(3, Ht, Wt);
        Assert.True(r.Image.masked_select(hole).equal(tgt.masked_select(hole)));
    }

    [Fact]
    public void Feathered_paste_changes_only_pixels_of_the_pasted_region()
    {
        using var scope = torch.NewDisposeScope();
        var (src, fg, srcLab, tgt, tgtLab) = Pair();
        using var r = CopyPaste.PasteForeground(src, fg, srcLab, tgt, tgtLab, new Random(3), featherRadius: 1);
        var fgT = r.ToResultFrame(fg.to(ScalarType.Float32)).gt(0.5);
        Assert.False(r.PastedMask.logical_and(fgT.logical_not()).any().item<bool>(), "the soft edge leaked outside the object");
        Assert.False(r.ForegroundMask.logical_and(fgT.logical_not()).any().item<bool>());
        Assert.True(r.ForegroundMask.sum().item<long>() > 0);
        var outside = r.PastedMask.logical_not().unsqueeze(0).expand(3, Ht, Wt);
        Assert.True(r.Image.masked_select(outside).equal(tgt.masked_select(outside)));
        // Edge pixels are blends: strictly between source and target values somewhere.
        var diffToSrc = (r.Image - r.ToResultFrame(src)).abs().masked_select(fgT.unsqueeze(0).expand(3, Ht, Wt));
        Assert.True(diffToSrc.max().ToDouble() > 1e-3);
    }

    [Fact]
    public void Bad_inputs_are_refused_with_a_reason()
    {
        using var scope = torch.NewDisposeScope();
        var (src, fg, srcLab, tgt, tgtLab) = Pair();
        var empty = torch.zeros(new[] { Hs, Ws }, ScalarType.Bool);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => CopyPaste.PasteForeground(src, empty, srcLab, tgt, tgtLab, new Random(1))).Message);
        Assert.Throws<ArgumentException>(() => CopyPaste.PasteForeground(src.narrow(0, 0, 1), fg, srcLab, tgt, tgtLab, new Random(1)));
        Assert.Throws<ArgumentException>(() => CopyPaste.PasteForeground(src, fg.narrow(0, 0, 5), srcLab, tgt, tgtLab, new Random(1)));
    }
}
