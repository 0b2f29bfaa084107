// Compiled twice: by MSBuild as an inline task (RoslynCodeTaskFactory, eng/TorchSharpNative.targets)
// that patches an executable's output folder, and into Hybrid.Torch (HYBRID_LIBRARY defined), where
// `hybrid version` and the tests use it. No native code, no tool beyond the .NET SDK.
//
// libLibTorchSharp.so (TorchSharp 0.107) was linked against GCC 13's libstdc++ and so names
// the version GLIBCXX_3.4.32 for a single symbol, std::ios_base_library_init(): a marker that
// GCC 13's <iostream> references to require a libstdc++ that initialises the standard streams
// itself. Nothing calls it (no relocation uses it). Debian 12's libstdc++ (GCC 12) stops at
// GLIBCXX_3.4.30, so the dynamic loader refuses the library.
//
// The patch edits a copy of the library in place, two fields of its version tables:
//  - the version-need entry for each version the system lacks gets VER_FLG_WEAK: the loader
//    then accepts a missing version instead of failing (glibc dl-version.c, match_symbol);
//  - the marker symbol's version index becomes 1 (global, unversioned).
// It refuses when any other symbol needs a missing version: then the library truly needs a
// newer libstdc++ and the patch would only move the failure to the first call.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
#nullable enable

namespace Hybrid.Build
{
    public static class GlibcxxMarkerPatch
    {
        public const string MarkerSymbol = "_ZSt21ios_base_library_initv";
        const uint ShtDynsym = 11, ShtVerneed = 0x6ffffffe, ShtVersym = 0x6fffffff;
        const ushort VerFlgWeak = 0x2;

        public sealed class Outcome
        {
            public bool Changed;
            public List<string> Versions = new List<string>();
            public string Message = "";
        }

        /// <summary>The GLIBCXX_* version names a libstdc++.so.6 file defines (read as strings).</summary>
        public static HashSet<string> DefinedVersions(string libstdcxx)
        {
            var set = new HashSet<string>();
            var bytes = File.ReadAllBytes(libstdcxx);
            var sb = new StringBuilder();
            foreach (var b in bytes)
            {
                if (b >= 0x20 && b < 0x7f) { sb.Append((char)b); continue; }
                if (sb.Length > 0)
                {
                    var s = sb.ToString();
                    if (s.StartsWith("GLIBCXX_3.4", StringComparison.Ordinal) || s.StartsWith("CXXABI_1.3", StringComparison.Ordinal)) set.Add(s);
                    sb.Clear();
                }
            }
            return set;
        }

        /// <summary>The system's libstdc++.so.6 as the loader finds it, or null when none of the
        /// usual places has it (then nothing is patched).</summary>
        public static string? FindSystemLibstdcxx()
        {
            foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" })
            {
                var p = Path.Combine(dir, "libstdc++.so.6");
                if (File.Exists(p)) return p;
            }
            return null;
        }

        /// <summary>Patches `library` (a copy: the file is rewritten through a temporary and a
        /// rename, so a hard link to the package cache is never written through) when it needs
        /// libstdc++ versions missing from `available`. Idempotent. The patched file keeps the
        /// original's size and modification time, so an incremental build sees its copy as up to
        /// date and does not replace it (and patch it again) every time.</summary>
        public static Outcome Apply(string library, ISet<string> available)
        {
            var data = File.ReadAllBytes(library);
            var outcome = Patch(data, available);
            if (outcome.Changed)
            {
                var modified = File.GetLastWriteTimeUtc(library);
                var tmp = library + ".patching";
                File.WriteAllBytes(tmp, data);
                File.SetLastWriteTimeUtc(tmp, modified);
                File.Delete(library);
                File.Move(tmp, library);
            }
            return outcome;
        }

        /// <summary>The patch on the bytes of an ELF64 little-endian shared library.</summary>
        public static Outcome Patch(byte[] d, ISet<string> available)
        {
            var o = new Outcome();
            if (d.Length < 64 || d[0] != 0x7f || d[1] != (byte)'E' || d[2] != (byte)'L' || d[3] != (byte)'F' || d[4] != 2 || d[5] != 1)
                throw new InvalidDataException("not an ELF64 little-endian file");
            long shoff = (long)U64(d, 0x28);
            int shentsize = U16(d, 0x3A), shnum = U16(d, 0x3C);
            var sections = new List<(uint Type, long Offset, long Size, uint Link, long EntSize)>();
            for (var i = 0; i < shnum; i++)
            {
                var h = (int)(shoff + (long)i * shentsize);
                sections.Add((U32(d, h + 4), (long)U64(d, h + 24), (long)U64(d, h + 32), U32(d, h + 40), (long)U64(d, h + 56)));
            }
            var verneedIdx = sections.FindIndex(s => s.Type == ShtVerneed);
            var versymIdx = sections.FindIndex(s => s.Type == ShtVersym);
            var dynsymIdx = sections.FindIndex(s => s.Type == ShtDynsym);
            if (verneedIdx < 0 || versymIdx < 0 || dynsymIdx < 0) { o.Message = "no symbol versions"; return o; }
            var verneed = sections[verneedIdx];
            var strtab = sections[(int)verneed.Link].Offset;
            var dynsym = sections[dynsymIdx];
            var dynstr = sections[(int)dynsym.Link].Offset;
            var versym = sections[versymIdx];

            // Version-need entries of libstdc++ whose version the system lacks.
            var missing = new List<(int AuxOffset, ushort Index, string Name)>();
            var vn = (int)verneed.Offset;
            while (true)
            {
                int cnt = U16(d, vn + 2);
                var file = Str(d, strtab + U32(d, vn + 4));
                var aux = vn + (int)U32(d, vn + 8);
                for (var k = 0; k < cnt; k++)
                {
                    var name = Str(d, strtab + U32(d, aux + 8));
                    if (file.StartsWith("libstdc++", StringComparison.Ordinal) && !available.Contains(name))
                        missing.Add((aux, U16(d, aux + 6), name));
                    var next = U32(d, aux + 12);
                    if (next == 0) break;
                    aux += (int)next;
                }
                var vnNext = U32(d, vn + 12);
                if (vnNext == 0) break;
                vn += (int)vnNext;
            }
            if (missing.Count == 0) { o.Message = "the system libstdc++ has every version it needs"; return o; }

            // Symbols bound to those versions: only the marker may be.
            var count = (int)(dynsym.Size / 24);
            var marker = -1;
            var others = new List<string>();
            for (var i = 0; i < count; i++)
            {
                var ver = U16(d, (int)versym.Offset + 2 * i) & 0x7fff;
                if (!missing.Any(m => m.Index == ver)) continue;
                var name = Str(d, dynstr + U32(d, (int)dynsym.Offset + 24 * i));
                if (name == MarkerSymbol) marker = i; else others.Add(name);
            }
            if (others.Count > 0)
                throw new InvalidOperationException($"the library needs {string.Join(", ", missing.Select(m => m.Name).Distinct())} for {others.Count} symbol(s) besides the marker ({string.Join(", ", others.Take(3))}); a newer libstdc++ is required");

            foreach (var m in missing)
            {
                var flags = U16(d, m.AuxOffset + 4);
                if ((flags & VerFlgWeak) == 0) { W16(d, m.AuxOffset + 4, (ushort)(flags | VerFlgWeak)); o.Changed = true; }
                o.Versions.Add(m.Name);
            }
            if (marker >= 0) { W16(d, (int)versym.Offset + 2 * marker, 1); o.Changed = true; }
            o.Message = o.Changed ? "patched" : "already patched";
            return o;
        }

        static ushort U16(byte[] d, long i) => (ushort)(d[i] | d[i + 1] << 8);
        static uint U32(byte[] d, long i) => (uint)(d[i] | d[i + 1] << 8 | d[i + 2] << 16 | d[i + 3] << 24);
        static ulong U64(byte[] d, long i) => U32(d, i) | (ulong)U32(d, i + 4) << 32;
        static void W16(byte[] d, int i, ushort v) { d[i] = (byte)v; d[i + 1] = (byte)(v >> 8); }
        static string Str(byte[] d, long i)
        {
            var e = i;
            while (d[e] != 0) e++;
            return Encoding.ASCII.GetString(d, (int)i, (int)(e - i));
        }
    }

#if !HYBRID_LIBRARY
    /// <summary>The MSBuild task: one line of output when it patches, nothing otherwise.</summary>
    public sealed class PatchLibTorchSharpForLibstdcxx : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string Library { get; set; } = "";

        public override bool Execute()
        {
            var system = GlibcxxMarkerPatch.FindSystemLibstdcxx();
            if (system == null) return true;
            try
            {
                var o = GlibcxxMarkerPatch.Apply(Library, GlibcxxMarkerPatch.DefinedVersions(system));
                if (o.Changed)
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                        $"libtorch setup: {system} lacks {string.Join(", ", o.Versions)}, which libLibTorchSharp.so names only for the unused marker {GlibcxxMarkerPatch.MarkerSymbol}; marked that version weak in the copy of libLibTorchSharp.so that the build output loads (in {Library})");
                return true;
            }
            catch (System.Exception e)
            {
                Log.LogError($"libtorch setup: cannot make {Library} load with {system}: {e.Message}");
                return false;
            }
        }
    }
#endif
}
