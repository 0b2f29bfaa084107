namespace Hybrid.Data;

/// <summary>A visible object of a scene: dataset class index (Fashion-MNIST label + 1) and its visible box (inclusive, 0-based).</summary>
public sealed record SceneObject(int ClassIndex, int XMin, int YMin, int XMax, int YMax);

/// <summary>A composed scene: RGB bytes (H, W, 3), class-index mask (H, W), its objects in drawing order.</summary>
public sealed record Scene(int Size, byte[] Rgb, byte[] Mask, IReadOnlyList<SceneObject> Objects, int DroppedItems);

/// <summary>
/// Composes one FMNIST-Scenes image: background, class context textures, then 1-3 tinted and
/// scaled Fashion-MNIST items that may occlude each other. The mask is each item's pixels at or
/// above the intensity threshold, later items over earlier ones.
/// </summary>
public sealed class SceneComposer
{
    private readonly FmnistScenesOptions _options;
    private readonly FashionMnist _items;
    private readonly int[][] _byClass;
    private readonly int[] _partners;

    private const int MaxPlacementTries = 40;

    public SceneComposer(FmnistScenesOptions options, FashionMnist items)
    {
        _options = options;
        _items = items;
        _byClass = items.IndicesByClass();
        _partners = options.Partners();
        for (int c = 0; c < _byClass.Length; c++)
            if (_byClass[c].Length == 0)
                throw new InvalidDataException($"the Fashion-MNIST split has no item of class {FashionMnist.ClassNames[c]}");
    }

    /// <summary>The Fashion-MNIST labels of one image: how many items, and which (distinct) classes.</summary>
    public int[] DrawLabels(Rng rng)
    {
        int count = rng.Bernoulli(_options.SingleItemFraction) ? 1
                  : rng.Bernoulli(_options.ThreeItemFraction) ? 3 : 2;
        var labels = new List<int> { rng.NextInt(10) };
        if (count >= 2)
        {
            int first = labels[0], partner = _partners[first];
            if (partner >= 0 && rng.Bernoulli(_options.CooccurrenceStrength)) labels.Add(partner);
            else labels.Add(UniformExcept(rng, first, partner));
        }
        if (count == 3) labels.Add(UniformExcept(rng, labels[0], labels[1]));
        return labels.ToArray();
    }

    private static int UniformExcept(Rng rng, int a, int b)
    {
        while (true)
        {
            int c = rng.NextInt(10);
            if (c != a && c != b) return c;
        }
    }

    private sealed class Item
    {
        public int Label;
        public int X, Y, Side;
        public float[] Intensity = Array.Empty<float>(); // (Side, Side) in [0, 1]
        public int Pixels;                                // mask pixels of the item alone
        public Rgb Tint;
    }

    public Scene Compose(Rng rng)
    {
        int n = _options.Size;
        float threshold = _options.MaskThreshold / 255f;
        var owner = new int[n * n];
        Array.Fill(owner, -1);
        var placed = new List<Item>();
        int dropped = 0;

        foreach (int label in DrawLabels(rng))
        {
            var item = MakeItem(rng, label, threshold);
            if (item.Pixels == 0 || !Place(rng, item, placed, owner, threshold)) { dropped++; continue; }
            placed.Add(item);
        }

        var canvas = new Canvas(n);
        Backgrounds.Paint(canvas, rng);
        foreach (var item in placed)
        {
            if (!rng.Bernoulli(_options.ContextProbability)) continue;
            var (x0, y0, x1, y1) = Bounds(item, threshold);
            float margin = (float)rng.Uniform(1.35, 1.8);
            ContextTextures.Paint(canvas, rng, item.Label, (x0 + x1) / 2f, (y0 + y1) / 2f,
                Math.Max(6f, (x1 - x0 + 1) / 2f * margin), Math.Max(6f, (y1 - y0 + 1) / 2f * margin));
        }
        if (rng.Bernoulli(_options.DistractorProbability))
        {
            float r = (float)rng.Uniform(n / 8.0, n / 4.0);
            ContextTextures.Paint(canvas, rng, rng.NextInt(10), (float)rng.Uniform(0, n), (float)rng.Uniform(0, n),
                r, r * (float)rng.Uniform(0.7, 1.4));
        }
        foreach (var item in placed) Draw(canvas, item, threshold);
        Backgrounds.AddNoise(canvas, rng, 0.015f);

        var mask = new byte[n * n];
        var objects = new List<SceneObject>();
        for (int k = 0; k < placed.Count; k++)
        {
            int xMin = n, yMin = n, xMax = -1, yMax = -1;
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                {
                    if (owner[y * n + x] != k) continue;
                    mask[y * n + x] = (byte)(placed[k].Label + 1);
                    xMin = Math.Min(xMin, x); xMax = Math.Max(xMax, x);
                    yMin = Math.Min(yMin, y); yMax = Math.Max(yMax, y);
                }
            objects.Add(new SceneObject(placed[k].Label + 1, xMin, yMin, xMax, yMax));
        }
        return new Scene(n, canvas.ToBytes(), mask, objects, dropped);
    }

    private Item MakeItem(Rng rng, int label, float threshold)
    {
        var pool = _byClass[label];
        var source = _items.Image(pool[rng.NextInt(pool.Length)]);
        double scale = rng.Uniform(_options.ScaleMin, _options.ScaleMax) * _options.Size / 96.0;
        int side = Math.Clamp((int)Math.Round(FashionMnist.Side * scale), 8, _options.Size);
        bool flip = rng.Bernoulli(0.5);
        var intensity = Resample(source, side, flip); // (side, side)
        int pixels = 0;
        foreach (var v in intensity) if (v >= threshold) pixels++;
        // Tints are bright-ish so items mostly stand out from the mid-to-dark backgrounds.
        return new Item { Label = label, Side = side, Intensity = intensity, Pixels = pixels, Tint = Rgb.Random(rng, 0.6, 1.0, 0.15, 0.9) };
    }

    /// <summary>Bilinear resampling of a 28x28 item to side x side (pixel centres aligned), optionally mirrored.</summary>
    private static float[] Resample(ReadOnlySpan<byte> src, int side, bool flip)
    {
        const int s = FashionMnist.Side;
        var dst = new float[side * side];
        float ratio = (float)s / side;
        for (int y = 0; y < side; y++)
        {
            float sy = Math.Clamp((y + 0.5f) * ratio - 0.5f, 0f, s - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, s - 1);
            float ty = sy - y0;
            for (int x = 0; x < side; x++)
            {
                float sx = Math.Clamp((x + 0.5f) * ratio - 0.5f, 0f, s - 1);
                if (flip) sx = s - 1 - sx;
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, s - 1);
                float tx = sx - x0;
                float top = src[y0 * s + x0] * (1 - tx) + src[y0 * s + x1] * tx;
                float bottom = src[y1 * s + x0] * (1 - tx) + src[y1 * s + x1] * tx;
                dst[y * side + x] = (top * (1 - ty) + bottom * ty) / 255f;
            }
        }
        return dst;
    }

    /// <summary>
    /// Chooses a position where the new item (drawn on top) leaves every earlier item at least
    /// MinVisibleFraction of its pixels, and marks its pixels in the owner map.
    /// </summary>
    private bool Place(Rng rng, Item item, List<Item> placed, int[] owner, float threshold)
    {
        int n = _options.Size;
        var lost = new int[placed.Count];
        var visible = new int[placed.Count];
        for (int i = 0; i < owner.Length; i++)
            if (owner[i] >= 0) visible[owner[i]]++;
        for (int attempt = 0; attempt < MaxPlacementTries; attempt++)
        {
            int ox = rng.NextInt(n - item.Side + 1), oy = rng.NextInt(n - item.Side + 1);
            Array.Clear(lost);
            for (int y = 0; y < item.Side; y++)
                for (int x = 0; x < item.Side; x++)
                {
                    if (item.Intensity[y * item.Side + x] < threshold) continue;
                    int o = owner[(oy + y) * n + ox + x];
                    if (o >= 0) lost[o]++;
                }
            bool ok = true;
            for (int k = 0; k < placed.Count && ok; k++)
                ok = visible[k] - lost[k] >= _options.MinVisibleFraction * placed[k].Pixels && visible[k] - lost[k] > 0;
            if (!ok) continue;
            item.X = ox;
            item.Y = oy;
            int index = placed.Count;
            for (int y = 0; y < item.Side; y++)
                for (int x = 0; x < item.Side; x++)
                    if (item.Intensity[y * item.Side + x] >= threshold) owner[(oy + y) * n + ox + x] = index;
            return true;
        }
        return false;
    }

    private static (int X0, int Y0, int X1, int Y1) Bounds(Item item, float threshold)
    {
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (int y = 0; y < item.Side; y++)
            for (int x = 0; x < item.Side; x++)
                if (item.Intensity[y * item.Side + x] >= threshold)
                {
                    x0 = Math.Min(x0, x); x1 = Math.Max(x1, x);
                    y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
                }
        return (item.X + x0, item.Y + y0, item.X + x1, item.Y + y1);
    }

    /// <summary>
    /// Alpha-composites the tinted item: shade follows the Fashion-MNIST intensity, opacity ramps
    /// from 0 at half the mask threshold to 1 at 1.5x, so the mask boundary sits at opacity 1/2.
    /// </summary>
    private static void Draw(Canvas canvas, Item item, float threshold)
    {
        for (int y = 0; y < item.Side; y++)
            for (int x = 0; x < item.Side; x++)
            {
                float v = item.Intensity[y * item.Side + x];
                float alpha = Math.Clamp((v - 0.5f * threshold) / threshold, 0f, 1f);
                if (alpha <= 0f) continue;
                float shade = 0.35f + 0.65f * v;
                canvas.Blend(item.X + x, item.Y + y, new Rgb(item.Tint.R * shade, item.Tint.G * shade, item.Tint.B * shade), alpha);
            }
    }
}
