using System.Buffers.Binary;
using System.IO.Compression;

namespace Hybrid.Data;

public enum FashionMnistSplit
{
    /// <summary>The 60,000 training items (train-*-ubyte).</summary>
    Train,
    /// <summary>The 10,000 test items (t10k-*-ubyte).</summary>
    Test,
}

/// <summary>
/// One split of Fashion-MNIST (Xiao et al., 2017) from its IDX files, plain or gzipped, as
/// shipped by Debian's <c>dataset-fashion-mnist</c>: 28x28 grayscale items (white on black)
/// with labels 0..9.
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist installs the IDX files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Environment variable naming a folder with the IDX files; takes precedence over the default.</summary>
    public const string EnvironmentVariable = "HYBRID_FASHION_MNIST";

    public const int Side = 28;
    public const int ItemBytes = Side * Side;

    /// <summary>The ten class names, in label order (Zalando's names).</summary>
    public static readonly IReadOnlyList<string> ClassNames = new[]
    {
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot",
    };

    /// <summary>(N, 28, 28) bytes.</summary>
    public byte[] Images { get; }
    public byte[] Labels { get; }
    public int Count => Labels.Length;

    public FashionMnist(byte[] images, byte[] labels)
    {
        if (images.Length != (long)labels.Length * ItemBytes)
            throw new ArgumentException($"{labels.Length} labels need {labels.Length * ItemBytes} image bytes, got {images.Length}");
        Images = images;
        Labels = labels;
    }

    public int Label(int i) => Labels[i];

    /// <summary>Item i as 784 row-major bytes (0 = background).</summary>
    public ReadOnlySpan<byte> Image(int i) => Images.AsSpan(i * ItemBytes, ItemBytes);

    /// <summary>Item indices of each class.</summary>
    public int[][] IndicesByClass()
    {
        var lists = Enumerable.Range(0, ClassNames.Count).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < Labels.Length; i++) lists[Labels[i]].Add(i);
        return lists.Select(l => l.ToArray()).ToArray();
    }

    /// <summary>
    /// The folder holding the IDX files: <paramref name="explicitDirectory"/> when given, else
    /// $HYBRID_FASHION_MNIST, else Debian's install folder. Throws with what to do when none has them.
    /// </summary>
    public static string Locate(string? explicitDirectory = null)
    {
        var candidates = new List<(string Dir, string Source)>();
        if (!string.IsNullOrEmpty(explicitDirectory)) candidates.Add((explicitDirectory, "the given folder"));
        else
        {
            var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrEmpty(env)) candidates.Add((env, $"${EnvironmentVariable}"));
            candidates.Add((DebianDirectory, "the dataset-fashion-mnist package folder"));
        }
        foreach (var (dir, _) in candidates)
            if (FindFile(dir, "train-images-idx3-ubyte") is not null || FindFile(dir, "t10k-images-idx3-ubyte") is not null)
                return dir;
        throw new FileNotFoundException(
            "Fashion-MNIST IDX files (train-images-idx3-ubyte[.gz] and friends) not found in " +
            string.Join(", ", candidates.Select(c => $"{c.Dir} ({c.Source})")) +
            $". Install the Debian package dataset-fashion-mnist (make setup does), or point {EnvironmentVariable} (or the --fmnist option) at a folder holding them.");
    }

    /// <summary>Loads a split from <paramref name="directory"/> (null: <see cref="Locate"/>).</summary>
    public static FashionMnist Load(FashionMnistSplit split, string? directory = null)
    {
        string dir = directory ?? Locate();
        string prefix = split == FashionMnistSplit.Train ? "train" : "t10k";
        string images = FindFile(dir, $"{prefix}-images-idx3-ubyte")
                        ?? throw new FileNotFoundException($"Fashion-MNIST file {prefix}-images-idx3-ubyte[.gz] not found in {dir}");
        string labels = FindFile(dir, $"{prefix}-labels-idx1-ubyte")
                        ?? throw new FileNotFoundException($"Fashion-MNIST file {prefix}-labels-idx1-ubyte[.gz] not found in {dir}");
        var (imageData, imageDims) = ReadIdx(images);
        var (labelData, labelDims) = ReadIdx(labels);
        if (imageDims.Length != 3 || imageDims[1] != Side || imageDims[2] != Side)
            throw new InvalidDataException($"{images}: expected N x 28 x 28 images, got {string.Join(" x ", imageDims)}");
        if (labelDims.Length != 1 || labelDims[0] != imageDims[0])
            throw new InvalidDataException($"{images} has {imageDims[0]} images but {labels} has shape {string.Join(" x ", labelDims)}");
        int bad = Array.FindIndex(labelData, l => l >= ClassNames.Count);
        if (bad >= 0) throw new InvalidDataException($"{labels}: label {labelData[bad]} at {bad} is not in 0..9");
        return new FashionMnist(imageData, labelData);
    }

    private static string? FindFile(string directory, string name)
    {
        foreach (var candidate in new[] { name, name + ".gz" })
        {
            string p = Path.Combine(directory, candidate);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>Reads an unsigned-byte IDX file (magic 0x0000_08_NN, NN = number of dimensions), gzipped or not.</summary>
    public static (byte[] Data, int[] Dims) ReadIdx(string path)
    {
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length >= 2 && raw[0] == 0x1F && raw[1] == 0x8B)
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            try
            {
                gz.CopyTo(plain);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: corrupt gzip data ({e.Message})", e);
            }
            raw = plain.ToArray();
        }
        if (raw.Length < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08)
            throw new InvalidDataException($"{path}: not an unsigned-byte IDX file (bad magic number)");
        int rank = raw[3];
        if (rank is < 1 or > 4 || raw.Length < 4 + 4 * rank)
            throw new InvalidDataException($"{path}: IDX header is damaged (rank {rank})");
        var dims = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 + 4 * d));
            count *= dims[d];
        }
        int offset = 4 + 4 * rank;
        if (raw.Length - offset != count)
            throw new InvalidDataException($"{path}: header says {count} values, file holds {raw.Length - offset} (truncated?)");
        return (raw[offset..], dims);
    }
}
