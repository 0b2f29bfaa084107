namespace Hybrid.Data;

/// <summary>
/// Adam7, PNG's interlacing: seven passes over sub-images whose pixels start at (X0, Y0) and
/// step by (DX, DY) in the full image.
/// </summary>
internal static class Adam7
{
    public readonly record struct Pass(int X0, int Y0, int DX, int DY)
    {
        public int Width(int imageWidth) => imageWidth <= X0 ? 0 : (imageWidth - X0 + DX - 1) / DX;
        public int Height(int imageHeight) => imageHeight <= Y0 ? 0 : (imageHeight - Y0 + DY - 1) / DY;
    }

    public static readonly Pass[] Passes =
    [
        new(0, 0, 8, 8), new(4, 0, 8, 8), new(0, 4, 4, 8), new(2, 0, 4, 4),
        new(0, 2, 2, 4), new(1, 0, 2, 2), new(0, 1, 1, 2),
    ];

    /// <summary>The passes of an image: all seven (interlaced) or one covering it (not interlaced).</summary>
    public static Pass[] For(bool interlaced) => interlaced ? Passes : [new Pass(0, 0, 1, 1)];
}
