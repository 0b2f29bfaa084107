using Hybrid.Torch;

namespace Hybrid.Data.Tests;

public class ImageTensorsTests
{
    [Fact]
    public void HwcBytesBecomeChwFloatsAndBack()
    {
        var px = Enumerable.Range(0, 2 * 3 * 3).Select(i => (byte)(i * 14)).ToArray(); // (H=2, W=3, C=3)
        var image = new Image(3, 2, 3, px);
        using var t = ImageTensors.ToTensor(image);
        Assert.Equal(new long[] { 3, 2, 3 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        var v = t.data<float>();
        // element (c=2, y=1, x=0) is HWC byte (1*3+0)*3+2 = 11
        Assert.Equal(11 * 14 / 255f, v[2 * 6 + 1 * 3 + 0], 6);
        Assert.Equal(px, ImageTensors.FromTensor(t).Pixels);
        using var mask = ImageTensors.ToIndexTensor(new Image(3, 2, 1, new byte[] { 0, 1, 2, 255, 4, 5 }));
        Assert.Equal(ScalarType.UInt8, mask.dtype);
        Assert.Equal(new long[] { 0, 1, 2, 255, 4, 5 }, mask.data<long>());
        using var bad = torch.zeros(new long[] { 2, 2, 2 });
        Assert.Throws<ArgumentException>(() => ImageTensors.FromTensor(bad));
    }
}
