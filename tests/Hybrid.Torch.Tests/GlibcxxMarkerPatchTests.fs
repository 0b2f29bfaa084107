/// eng/GlibcxxMarkerPatch.cs (compiled into Hybrid.Torch as Hybrid.Build.GlibcxxMarkerPatch), on
/// copies of TorchSharp's libLibTorchSharp.so: it names GLIBCXX_3.4.32 (GCC 13's libstdc++) only
/// for the unused marker std::ios_base_library_init(), which Debian 12's libstdc++ lacks. The
/// edits are checked with a reader of the version tables written apart from the patch
/// (Support/ElfVersions.fs). The package cache is only read.
module Hybrid.Torch.Tests.GlibcxxMarkerPatchTests

open System
open System.IO
open System.Runtime.InteropServices
open Expecto
open TorchSharp
open Hybrid.Build

let private missing = "GLIBCXX_3.4.32"
let private marker = GlibcxxMarkerPatch.MarkerSymbol

/// What a libstdc++ of GCC 12 (Debian 12) defines: everything up to GLIBCXX_3.4.30 / CXXABI_1.3.13,
/// plus 3.4.31 so that only the marker's version is absent.
let private withoutMissing () : Collections.Generic.ISet<string> =
    Collections.Generic.HashSet<string>(
        [ yield "GLIBCXX_3.4"
          for i in 1 .. 31 -> $"GLIBCXX_3.4.{i}"
          yield "CXXABI_1.3"
          for i in 1 .. 15 -> $"CXXABI_1.3.{i}" ])

let private withMissing () =
    let s = withoutMissing ()
    s.Add missing |> ignore
    s

let private packageLibrary () =
    let v = typeof<torch>.Assembly.GetName().Version
    let packages =
        match Environment.GetEnvironmentVariable "NUGET_PACKAGES" with
        | null | "" -> Path.Combine(Environment.GetFolderPath Environment.SpecialFolder.UserProfile, ".nuget", "packages")
        | p -> p
    Path.Combine(packages, "torchsharp", $"{v.Major}.{v.Minor}.{v.Build}", "runtimes", "linux-x64", "native", "libLibTorchSharp.so")

let private outputLibrary () = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so")

/// The bytes of TorchSharp's library as the package ships it: the package cache's file, or else
/// this output folder's copy with the patch's two edits undone (the build patches that copy).
let private original () : byte[] =
    let fromPackage = packageLibrary ()
    if File.Exists fromPackage then File.ReadAllBytes fromPackage
    else
        let out = outputLibrary ()
        if not (File.Exists out) then failtestf "libLibTorchSharp.so found neither at %s nor at %s" fromPackage out
        let d = File.ReadAllBytes out
        let n = ElfVersions.need d missing
        ElfVersions.write16 d n.FlagsOffset (n.Flags &&& ~~~ElfVersions.VerFlgWeak)
        let s = ElfVersions.symbol d marker
        if s.Version = 1 then ElfVersions.write16 d s.VersionOffset n.Index
        d

let private differingOffsets (a: byte[]) (b: byte[]) =
    Expect.equal b.Length a.Length "same length"
    [ for i in 0 .. a.Length - 1 do if a[i] <> b[i] then yield int64 i ]

[<DllImport("libc", SetLastError = true)>]
extern int link(string oldpath, string newpath)

[<Tests>]
let tests =
    testList "GlibcxxMarkerPatch" [
        testCase "TorchSharp's library needs GLIBCXX_3.4.32 for the marker symbol only, and not weakly" (fun () ->
            let d = original ()
            let n = ElfVersions.need d missing
            Expect.stringStarts n.File "libstdc++" "needed from libstdc++"
            Expect.equal (n.Flags &&& ElfVersions.VerFlgWeak) 0 "a hard requirement as shipped"
            let users = ElfVersions.symbols d |> List.filter (fun s -> s.Version = n.Index) |> List.map (fun s -> s.Name)
            Expect.equal users [ marker ] "only the marker is bound to it")

        testCase "Patch marks the missing version weak and unversions the marker, nothing else" (fun () ->
            let before = original ()
            let d = Array.copy before
            let o = GlibcxxMarkerPatch.Patch(d, withoutMissing ())
            Expect.isTrue o.Changed "changed"
            Expect.sequenceEqual o.Versions [ missing ] "the missing version"
            Expect.equal o.Message "patched" "message"
            let n = ElfVersions.need d missing
            Expect.equal (n.Flags &&& ElfVersions.VerFlgWeak) ElfVersions.VerFlgWeak "VER_FLG_WEAK set"
            let s = ElfVersions.symbol d marker
            Expect.equal s.Version 1 "the marker is global (unversioned)"
            let allowed = set [ n.FlagsOffset; n.FlagsOffset + 1L; s.VersionOffset; s.VersionOffset + 1L ]
            let changed = differingOffsets before d
            Expect.isNonEmpty changed "bytes changed"
            for i in changed do Expect.isTrue (allowed.Contains i) $"byte {i} changed outside the two fields"
            // other needs keep their flags
            for other in ElfVersions.needs d |> List.filter (fun x -> x.Name <> missing) do
                let was = ElfVersions.needs before |> List.find (fun x -> x.Name = other.Name && x.File = other.File)
                Expect.equal other.Flags was.Flags $"{other.Name} flags untouched")

        testCase "a second Patch changes nothing" (fun () ->
            let d = original ()
            GlibcxxMarkerPatch.Patch(d, withoutMissing ()) |> ignore
            let once = Array.copy d
            let o = GlibcxxMarkerPatch.Patch(d, withoutMissing ())
            Expect.isFalse o.Changed "not changed again"
            Expect.equal o.Message "already patched" "message"
            Expect.sequenceEqual o.Versions [ missing ] "still names the version"
            Expect.isEmpty (differingOffsets once d) "bytes identical")

        testCase "with GLIBCXX_3.4.32 available nothing changes" (fun () ->
            let before = original ()
            let d = Array.copy before
            let o = GlibcxxMarkerPatch.Patch(d, withMissing ())
            Expect.isFalse o.Changed "not changed"
            Expect.isEmpty o.Versions "no version missing"
            Expect.stringContains o.Message "has every version" "message"
            Expect.isEmpty (differingOffsets before d) "bytes identical")

        testCase "a library where another symbol needs the missing version is refused, untouched" (fun () ->
            let d = original ()
            let n = ElfVersions.need d missing
            let victim = ElfVersions.symbol d "_ZNSt8ios_baseD2Ev"                    // std::ios_base::~ios_base(), GLIBCXX_3.4
            ElfVersions.write16 d victim.VersionOffset n.Index                       // now it needs GLIBCXX_3.4.32 too
            let edited = Array.copy d
            let e = Expect.throwsC (fun () -> GlibcxxMarkerPatch.Patch(d, withoutMissing ()) |> ignore) id
            Expect.isTrue (e :? InvalidOperationException) $"{e.GetType().Name}"
            Expect.stringContains e.Message missing "names the version"
            Expect.stringContains e.Message "_ZNSt8ios_baseD2Ev" "names the symbol"
            Expect.stringContains e.Message "newer libstdc++" "says what is needed"
            Expect.isEmpty (differingOffsets edited d) "nothing written")

        testCase "Apply rewrites the file it is given, never through a hard link to the original" (fun () ->
            use dir = new TempDir()
            let cache = dir.File "package-copy.so"
            File.WriteAllBytes(cache, original ())
            let out = dir.File "libLibTorchSharp.so"
            Expect.equal (link (cache, out)) 0 $"hard link made (errno {Marshal.GetLastWin32Error()})"
            let o = GlibcxxMarkerPatch.Apply(out, withoutMissing ())
            Expect.isTrue o.Changed "patched"
            Expect.isEmpty (differingOffsets (original ()) (File.ReadAllBytes cache)) "the linked original is untouched"
            let patched = File.ReadAllBytes out
            Expect.equal ((ElfVersions.need patched missing).Flags &&& ElfVersions.VerFlgWeak) ElfVersions.VerFlgWeak "the output is patched"
            Expect.isFalse (File.Exists(out + ".patching")) "no temporary left"
            Expect.isFalse (GlibcxxMarkerPatch.Apply(out, withoutMissing ())).Changed "idempotent on the file")

        testCase "what is not an ELF64 little-endian file is refused" (fun () ->
            Expect.throwsT<InvalidDataException> (fun () -> GlibcxxMarkerPatch.Patch(Array.zeroCreate 128, withoutMissing ()) |> ignore) "zeros"
            let elf32 = Array.copy (original ())
            elf32[4] <- 1uy                                                          // ELFCLASS32
            Expect.throwsT<InvalidDataException> (fun () -> GlibcxxMarkerPatch.Patch(elf32, withoutMissing ()) |> ignore) "ELF32")

        testCase "DefinedVersions reads the GLIBCXX and CXXABI version names of a libstdc++" (fun () ->
            use dir = new TempDir()
            let fake = dir.File "libstdc++.so.6"
            File.WriteAllBytes(fake, Text.Encoding.ASCII.GetBytes "\u007fELF\u0000GLIBCXX_3.4\u0000GLIBCXX_3.4.30\u0000CXXABI_1.3.13\u0000GLIBC_2.34\u0000_ZNSt8ios_baseD2Ev\u0000")
            Expect.equal (Set.ofSeq (GlibcxxMarkerPatch.DefinedVersions fake)) (set [ "GLIBCXX_3.4"; "GLIBCXX_3.4.30"; "CXXABI_1.3.13" ]) "names"
            match GlibcxxMarkerPatch.FindSystemLibstdcxx() with
            | null -> failtest "no system libstdc++.so.6 found (this machine is Debian)"
            | system ->
                let defined = GlibcxxMarkerPatch.DefinedVersions system
                Expect.isTrue (defined.Contains "GLIBCXX_3.4" && defined.Contains "CXXABI_1.3") $"{system}: base versions")

        testCase "the copy in this output folder needs nothing more on this system" (fun () ->
            // The build (eng/TorchSharpNative.targets) patched it when the system lacks the version;
            // this process loaded it.
            let out = outputLibrary ()
            Expect.isTrue (File.Exists out) $"{out} exists (an executable's output folder)"
            let system = GlibcxxMarkerPatch.FindSystemLibstdcxx()
            Expect.isNotNull system "system libstdc++ found"
            let o = GlibcxxMarkerPatch.Patch(File.ReadAllBytes out, GlibcxxMarkerPatch.DefinedVersions system)
            Expect.isFalse o.Changed $"nothing to patch: {o.Message}"
            (torch.ones [| 1L |]).Dispose())
    ]
