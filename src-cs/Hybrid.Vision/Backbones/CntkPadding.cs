using F = TorchSharp.torch.nn.functional;

namespace Hybrid.Vision.Backbones;

/// <summary>
/// CNTK's automatic padding, as its ONNX exports record it: the centre of an odd k x k kernel
/// (dilation d) visits input pixels 0, s, 2s, ..., so the output has ceil(H / s) rows; the
/// padding before is d (k - 1) / 2 and the padding after is whatever the last window still
/// needs. For a stride-2 3x3 convolution or max-pool on an even side that is 1 before and 0
/// after (the file's pads [1, 1, 0, 0]); for the 7x7 stem on 224 it is 3 and 2 ([3, 3, 2, 2]);
/// at stride 1 it is symmetric (d on both sides). PyTorch's symmetric padding would give the
/// same sizes at even sides but shift the windows by a pixel at odd ones and misalign the
/// shortcut; the recorded pads are those of the 224 input, this rule gives them at any size.
/// </summary>
public static class CntkPadding
{
    /// <summary>(before, after) along one axis of <paramref name="size"/> pixels.</summary>
    public static (long Before, long After) Along(long size, long kernel, long stride, long dilation = 1)
    {
        if (kernel % 2 == 0) throw new ArgumentException($"CNTK padding is defined here for odd kernels, got {kernel}", nameof(kernel));
        var before = dilation * (kernel - 1) / 2;
        var outputs = (size + stride - 1) / stride;                         // ceil(size / stride)
        var reach = (outputs - 1) * stride + dilation * (kernel - 1) - before; // last window's end, relative to pixel 0
        return (before, Math.Max(0, reach - (size - 1)));
    }

    /// <summary>ONNX's pads [top, left, bottom, right] for an (H, W) input.</summary>
    public static long[] OnnxPads(long height, long width, long kernel, long stride, long dilation = 1)
    {
        var (t, b) = Along(height, kernel, stride, dilation);
        var (l, r) = Along(width, kernel, stride, dilation);
        return new[] { t, l, b, r };
    }

    /// <summary>Pads a (B, C, H, W) map for a k x k window of stride s; <paramref name="value"/>
    /// is 0 for a convolution and -inf for a max-pool (ONNX pads a max-pool with nothing).</summary>
    public static Tensor Pad(Tensor x, long kernel, long stride, long dilation = 1, double value = 0)
    {
        var (t, b) = Along(x.size(2), kernel, stride, dilation);
        var (l, r) = Along(x.size(3), kernel, stride, dilation);
        return F.pad(x, new[] { l, r, t, b }, value: value);               // (B, C, H + t + b, W + l + r)
    }
}
