namespace Hybrid.Data.Tests;

/// <summary>Writes tiny VOC-layout folders for the reader tests.</summary>
public sealed class TinyVoc
{
    public string Root { get; }
    private readonly IReadOnlyList<string> _classes;

    public TinyVoc(string root, IReadOnlyList<string>? classes = null)
    {
        Root = root;
        _classes = classes ?? ClassList.Voc;
        foreach (var d in new[] { "JPEGImages", "SegmentationClass", "Annotations", "ImageSets/Segmentation" })
            Directory.CreateDirectory(Path.Combine(root, d));
    }

    /// <summary>An 8x6 image whose mask holds the given classes in vertical bands (plus a 255 border row).</summary>
    public void Add(string id, int[] maskClasses, string[]? xmlNames = null, string maskFolder = "SegmentationClass",
        bool image = true, bool mask = true, bool xml = true, int width = 8, int height = 6)
    {
        if (image)
        {
            var px = new byte[width * height * 3];
            for (int i = 0; i < px.Length; i++) px[i] = (byte)(i * 7);
            ImageIO.WriteJpeg(Path.Combine(Root, "JPEGImages", id + ".jpg"), new Image(width, height, 3, px));
        }
        if (mask)
        {
            var m = new byte[width * height];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    m[y * width + x] = y == 0 ? MaskIO.Ignore
                        : maskClasses.Length == 0 ? (byte)0
                        : (byte)maskClasses[x * maskClasses.Length / width];
            Directory.CreateDirectory(Path.Combine(Root, maskFolder));
            ImageIO.WritePng(Path.Combine(Root, maskFolder, id + ".png"), Image.Indexed(width, height, m, VocPalette.Create()));
        }
        if (xml)
        {
            var names = xmlNames ?? maskClasses.Where(c => c > 0).Select(c => _classes[c]).ToArray();
            var objects = string.Concat(names.Select(n => $"<object><name>{n}</name><difficult>0</difficult></object>"));
            File.WriteAllText(Path.Combine(Root, "Annotations", id + ".xml"),
                $"<annotation><filename>{id}.jpg</filename>{objects}</annotation>");
        }
    }

    public void Split(string name, params string[] ids) =>
        File.WriteAllLines(Path.Combine(Root, "ImageSets", "Segmentation", name + ".txt"), ids);
}
