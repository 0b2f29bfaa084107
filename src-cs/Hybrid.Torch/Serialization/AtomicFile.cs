namespace Hybrid.Torch.Serialization;

/// <summary>Writes a file so that a crash never leaves a half-written one: temp file in the
/// same folder, flushed to disk, then renamed over the target.</summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Removes the temp files (<c>.&lt;name&gt;.&lt;pid&gt;.tmp</c>) that writes killed midway left
    /// in <paramref name="dir"/>: only those of processes that no longer run (a live writer keeps its
    /// file). Returns the removed paths.</summary>
    public static IReadOnlyList<string> RemoveStale(string dir)
    {
        var removed = new List<string>();
        if (!Directory.Exists(dir)) return removed;
        foreach (var f in Directory.GetFiles(dir, ".*.tmp"))
        {
            var name = Path.GetFileName(f);
            var parts = name.Split('.');
            // "", <name parts...>, <pid>, "tmp"
            if (parts.Length < 4 || !int.TryParse(parts[^2], out var pid) || IsRunning(pid)) continue;
            try { File.Delete(f); removed.Add(f); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });
}
