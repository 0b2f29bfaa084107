namespace Hybrid.Data;

/// <summary>In-place radix-2 complex FFT (iterative Cooley-Tukey), 1-D and 2-D, for power-of-two sizes.</summary>
public static class Fft
{
    /// <summary>Transforms (re, im) of length n (a power of two); inverse includes the 1/n factor.</summary>
    public static void Transform(Span<double> re, Span<double> im, bool inverse)
    {
        int n = re.Length;
        if (n != im.Length || n == 0 || (n & (n - 1)) != 0)
            throw new ArgumentException($"FFT length must be a power of two with matching parts, got {re.Length}/{im.Length}");
        for (int i = 1, j = 0; i < n; i++)
        {
            int bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1) j ^= bit;
            j ^= bit;
            if (i < j)
            {
                (re[i], re[j]) = (re[j], re[i]);
                (im[i], im[j]) = (im[j], im[i]);
            }
        }
        for (int len = 2; len <= n; len <<= 1)
        {
            double angle = (inverse ? 2 : -2) * Math.PI / len;
            double wRe = Math.Cos(angle), wIm = Math.Sin(angle);
            for (int start = 0; start < n; start += len)
            {
                double cRe = 1, cIm = 0;
                for (int k = 0; k < len / 2; k++)
                {
                    int a = start + k, b = a + len / 2;
                    double tRe = re[b] * cRe - im[b] * cIm, tIm = re[b] * cIm + im[b] * cRe;
                    re[b] = re[a] - tRe;
                    im[b] = im[a] - tIm;
                    re[a] += tRe;
                    im[a] += tIm;
                    double next = cRe * wRe - cIm * wIm;
                    cIm = cRe * wIm + cIm * wRe;
                    cRe = next;
                }
            }
        }
        if (inverse)
            for (int i = 0; i < n; i++)
            {
                re[i] /= n;
                im[i] /= n;
            }
    }

    /// <summary>2-D transform of (rows, cols) row-major data: rows, then columns.</summary>
    public static void Transform2D(double[] re, double[] im, int rows, int cols, bool inverse)
    {
        for (int r = 0; r < rows; r++)
            Transform(re.AsSpan(r * cols, cols), im.AsSpan(r * cols, cols), inverse);
        var colRe = new double[rows];
        var colIm = new double[rows];
        for (int c = 0; c < cols; c++)
        {
            for (int r = 0; r < rows; r++)
            {
                colRe[r] = re[r * cols + c];
                colIm[r] = im[r * cols + c];
            }
            Transform(colRe, colIm, inverse);
            for (int r = 0; r < rows; r++)
            {
                re[r * cols + c] = colRe[r];
                im[r * cols + c] = colIm[r];
            }
        }
    }
}
