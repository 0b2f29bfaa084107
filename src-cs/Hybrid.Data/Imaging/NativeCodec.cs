using System.Runtime.InteropServices;

namespace Hybrid.Data;

/// <summary>P/Invoke entries of the native image codecs (native/src/image_codec.cpp).</summary>
internal static unsafe class NativeCodec
{
    private const string Library = "hybrid_torch";

    [DllImport(Library)]
    public static extern byte* hy_image_decode(byte* data, long size, out int width, out int height,
        out int channels, byte* palette, out int paletteSize);

    [DllImport(Library)]
    public static extern void hy_image_free(byte* buffer);

    [DllImport(Library)]
    public static extern int hy_image_encode_png(byte* pixels, int width, int height, int channels,
        byte* palette, int paletteSize, out byte* output, out long outputSize);

    [DllImport(Library)]
    public static extern int hy_image_encode_jpeg(byte* pixels, int width, int height, int channels,
        int quality, out byte* output, out long outputSize);

    [DllImport(Library)]
    private static extern IntPtr hy_last_error();

    /// <summary>The message of the last failed native call on this thread.</summary>
    public static string LastError() =>
        Marshal.PtrToStringUTF8(hy_last_error()) ?? "unknown native error";
}
