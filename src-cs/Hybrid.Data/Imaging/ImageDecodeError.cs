namespace Hybrid.Data;

/// <summary>The one wording of decode errors: the file, the format, what is wrong, and what to do.</summary>
internal static class ImageDecodeError
{
    public static InvalidDataException Create(string name, string reason, Exception? inner = null) =>
        new($"cannot decode image '{name}': {reason}. Re-export or replace this file (JPEG and PNG are supported).", inner);
}
