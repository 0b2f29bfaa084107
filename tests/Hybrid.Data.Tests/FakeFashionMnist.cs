using System.Buffers.Binary;
using System.IO.Compression;

namespace Hybrid.Data.Tests;

/// <summary>Writes tiny Fashion-MNIST-format IDX files (train gzipped, test plain) of simple per-class shapes.</summary>
public static class FakeFashionMnist
{
    public static void Write(string dir, int perClassTrain = 12, int perClassTest = 4)
    {
        Directory.CreateDirectory(dir);
        WriteSplit(dir, "train", perClassTrain, gzip: true);
        WriteSplit(dir, "t10k", perClassTest, gzip: false);
    }

    private static void WriteSplit(string dir, string prefix, int perClass, bool gzip)
    {
        int n = perClass * 10;
        var images = new byte[n * 784];
        var labels = new byte[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 10;
            labels[i] = (byte)c;
            // A filled ellipse whose proportions depend on the class, brighter in its centre.
            float rx = 4 + c, ry = 13 - c * 0.6f + i % 3;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    float dx = (x - 13.5f) / rx, dy = (y - 13.5f) / ry, d = dx * dx + dy * dy;
                    if (d < 1) images[i * 784 + y * 28 + x] = (byte)(255 - 120 * d);
                }
        }
        WriteIdx(Path.Combine(dir, $"{prefix}-images-idx3-ubyte"), images, new[] { n, 28, 28 }, gzip);
        WriteIdx(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte"), labels, new[] { n }, gzip);
    }

    public static void WriteIdx(string path, byte[] data, int[] dims, bool gzip)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = 0x08;
        header[3] = (byte)dims.Length;
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), dims[d]);
        if (!gzip)
        {
            File.WriteAllBytes(path, header.Concat(data).ToArray());
            return;
        }
        using var file = File.Create(path + ".gz");
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(header);
        gz.Write(data);
    }
}
