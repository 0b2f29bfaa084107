using System.Buffers.Binary;
using System.IO.Compression;

namespace Hybrid.Data;

public enum FashionMnistSplit { Train, Test }

/// <summary>
/// Fashion-MNIST from its IDX files (optionally gzipped): 28x28 grayscale items, 10 classes.
/// Looked up in $HYBRID_FASHION_MNIST, then Debian's dataset-fashion-mnist location.
/// </summary>
public sealed class FashionMnist
{
    /// <summary>The ten class names, in label order (Zalando's names).</summary>
    public static readonly string[] ClassNames =
        { "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot" };

    public const int Side = 28;
    private readonly byte[] pixels;
    private readonly byte[] labels;

    private FashionMnist(byte[] pixels, byte[] labels) { this.pixels = pixels; this.labels = labels; }

    public int Count => labels.Length;
    public int Label(int i) => labels[i];
    /// <summary>Item i as 784 row-major bytes (0 = background).</summary>
    public ReadOnlySpan<byte> Image(int i) => pixels.AsSpan(i * Side * Side, Side * Side);

    public static string DefaultDirectory()
    {
        var env = Environment.GetEnvironmentVariable("HYBRID_FASHION_MNIST");
        if (!string.IsNullOrEmpty(env)) return env;
        return "/usr/share/datasets/fashion-mnist";   // Debian package dataset-fashion-mnist
    }

    public static FashionMnist Load(FashionMnistSplit split, string? directory = null)
    {
        var dir = directory ?? DefaultDirectory();
        var prefix = split == FashionMnistSplit.Train ? "train" : "t10k";
        var img = Find(dir, $"{prefix}-images-idx3-ubyte");
        var lab = Find(dir, $"{prefix}-labels-idx1-ubyte");
        var (pix, n, rows, cols) = ReadImages(img);
        var labels = ReadLabels(lab);
        if (rows != Side || cols != Side) throw new InvalidDataException($"{img}: expected 28x28 images, found {rows}x{cols}");
        if (labels.Length != n) throw new InvalidDataException($"{img} has {n} images but {lab} has {labels.Length} labels");
        if (labels.Any(l => l >= 10)) throw new InvalidDataException($"{lab}: label outside 0..9");
        return new FashionMnist(pix, labels);
    }

    private static string Find(string dir, string stem)
    {
        foreach (var p in new[] { Path.Combine(dir, stem), Path.Combine(dir, stem + ".gz") })
            if (File.Exists(p)) return p;
        throw new FileNotFoundException($"Fashion-MNIST file {stem}[.gz] not found in {dir}: install Debian's dataset-fashion-mnist (make setup does) or set HYBRID_FASHION_MNIST to the folder holding the IDX files");
    }

    private static byte[] ReadAll(string path)
    {
        try
        {
            using var f = File.OpenRead(path);
            using Stream s = path.EndsWith(".gz") ? new GZipStream(f, CompressionMode.Decompress) : f;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: corrupt gzip data ({e.Message})", e); }
    }

    private static (byte[] Pixels, int N, int Rows, int Cols) ReadImages(string path)
    {
        var b = ReadAll(path);
        if (b.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(b) != 0x00000803) throw new InvalidDataException($"{path} is not an IDX3 image file (bad magic)");
        int n = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(4)), r = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(8)), c = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(12));
        if (b.Length != 16L + (long)n * r * c) throw new InvalidDataException($"{path}: header says {n}x{r}x{c} but the file has {b.Length - 16} pixel bytes (truncated?)");
        return (b[16..], n, r, c);
    }

    private static byte[] ReadLabels(string path)
    {
        var b = ReadAll(path);
        if (b.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(b) != 0x00000801) throw new InvalidDataException($"{path} is not an IDX1 label file (bad magic)");
        var n = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(4));
        if (b.Length != 8 + n) throw new InvalidDataException($"{path}: header says {n} labels but the file has {b.Length - 8} (truncated?)");
        return b[8..];
    }
}
