using System.Text;

namespace Hybrid.Data;

/// <summary>Writes one image of a dataset in VOC layout (JPEGImages, SegmentationClass, Annotations).</summary>
public static class VocWriter
{
    public static readonly string[] Folders = { "JPEGImages", "SegmentationClass", "Annotations", "ImageSets/Segmentation" };

    public static void CreateLayout(string root)
    {
        foreach (var f in Folders) Directory.CreateDirectory(Path.Combine(root, f));
    }

    public static string ImagePath(string root, string id) => Path.Combine(root, "JPEGImages", id + ".jpg");
    public static string MaskPath(string root, string id) => Path.Combine(root, "SegmentationClass", id + ".png");
    public static string AnnotationPath(string root, string id) => Path.Combine(root, "Annotations", id + ".xml");

    /// <summary>A VOC annotation: file name, size and one object per entry with its 1-based inclusive box.</summary>
    public static string Annotation(string folder, string id, int width, int height, IReadOnlyList<SceneObject> objects,
        IReadOnlyList<string> classNames)
    {
        var sb = new StringBuilder();
        sb.Append("<annotation>\n");
        sb.Append($"\t<folder>{folder}</folder>\n\t<filename>{id}.jpg</filename>\n");
        sb.Append($"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t\t<depth>3</depth>\n\t</size>\n");
        sb.Append("\t<segmented>1</segmented>\n");
        foreach (var o in objects)
        {
            sb.Append($"\t<object>\n\t\t<name>{classNames[o.ClassIndex]}</name>\n\t\t<pose>Unspecified</pose>\n");
            sb.Append("\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n");
            sb.Append($"\t\t<bndbox>\n\t\t\t<xmin>{o.XMin + 1}</xmin>\n\t\t\t<ymin>{o.YMin + 1}</ymin>\n");
            sb.Append($"\t\t\t<xmax>{o.XMax + 1}</xmax>\n\t\t\t<ymax>{o.YMax + 1}</ymax>\n\t\t</bndbox>\n\t</object>\n");
        }
        sb.Append("</annotation>\n");
        return sb.ToString();
    }

    public static void WriteSplit(string root, string split, IEnumerable<string> ids) =>
        File.WriteAllText(Path.Combine(root, "ImageSets", "Segmentation", split + ".txt"), string.Concat(ids.Select(id => id + "\n")));
}
