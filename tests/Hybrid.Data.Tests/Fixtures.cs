namespace Hybrid.Data.Tests;

/// <summary>Test fixture files (see Fixtures/make_fixtures.sh for their provenance).</summary>
public static class Fixtures
{
    public static string File(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>Reads a binary PPM (P6, maxval 255) as an RGB image.</summary>
    public static Image ReadPpm(string path)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        int pos = 0;
        string Token()
        {
            while (char.IsWhiteSpace((char)bytes[pos])) pos++;
            int start = pos;
            while (!char.IsWhiteSpace((char)bytes[pos])) pos++;
            return System.Text.Encoding.ASCII.GetString(bytes, start, pos - start);
        }
        Assert.Equal("P6", Token());
        int w = int.Parse(Token()), h = int.Parse(Token());
        Assert.Equal("255", Token());
        pos++; // the single whitespace after maxval
        return new Image(w, h, 3, bytes[pos..(pos + w * h * 3)]);
    }
}
