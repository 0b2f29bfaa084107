namespace Hybrid.Data;

/// <summary>
/// The PASCAL VOC colour map used by SegmentationClass PNGs: the bits of a class index are
/// spread over the high bits of R, G and B (bit 0 -> R, bit 1 -> G, bit 2 -> B, from bit 7 down).
/// </summary>
public static class VocPalette
{
    /// <summary>RGB triples for indices 0..count-1 (count <= 256).</summary>
    public static byte[] Create(int count = 256)
    {
        if (count is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(count), "1..256 colours");
        var palette = new byte[3 * count];
        for (int index = 0; index < count; index++)
        {
            int r = 0, g = 0, b = 0, bits = index;
            for (int shift = 7; shift >= 0; shift--)
            {
                r |= (bits & 1) << shift;
                g |= ((bits >> 1) & 1) << shift;
                b |= ((bits >> 2) & 1) << shift;
                bits >>= 3;
            }
            palette[3 * index] = (byte)r;
            palette[3 * index + 1] = (byte)g;
            palette[3 * index + 2] = (byte)b;
        }
        return palette;
    }
}
