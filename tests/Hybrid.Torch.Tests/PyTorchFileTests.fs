/// PyTorch `.pth` files through TorchSharp.PyBridge: a round trip of a state dict, and clear
/// errors (naming the file) for truncated, corrupt, empty, foreign and missing files. The
/// files PyTorch itself wrote are read in ModuleTests.
module Hybrid.Torch.Tests.PyTorchFileTests

open System
open System.IO
open System.IO.Compression
open Expecto
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Torch.Tests.OneThread

let private invalidData (path: string) (what: string) : exn =
    let e = Expect.throwsC (fun () -> PyTorchFile.Load path |> ignore) id
    Expect.isTrue (e :? InvalidDataException) $"{what}: {e.GetType().Name}: {e.Message}"
    Expect.stringContains e.Message path $"{what}: names the file"
    e

let private sameState (a: torch.nn.Module) (b: torch.nn.Module) =
    let sa = a.state_dict ()
    let sb = b.state_dict ()
    Expect.sequenceEqual sb.Keys sa.Keys "same keys"
    for k in sa.Keys do Expect.isTrue (Same.tensors sa[k] sb[k]) $"'{k}' differs after the round trip"

[<Tests>]
let tests =
    testList "PyTorchFile" [
        torchTest "Save then Load round-trips a state dict, atomically" (fun () ->
            use dir = new TempDir()
            let path = dir.File "weights.pth"
            torch.manual_seed 21L |> ignore
            use m = new TinyResNet()
            PyTorchFile.Save(path, m.state_dict ())
            let back = PyTorchFile.Load path
            try
                Expect.equal (Set.ofSeq back.Keys) (Set.ofSeq (m.state_dict().Keys)) "keys"
                for kv in m.state_dict () do
                    Expect.equal back[kv.Key].dtype kv.Value.dtype $"'{kv.Key}' dtype"
                use m2 = new TinyResNet()
                Expect.isTrue (StateDicts.Load(m2, back).IsClean) "loads cleanly"
                sameState m m2
            finally
                for t in back.Values do t.Dispose()
            Expect.sequenceEqual (Directory.GetFiles dir.Path) [ path ] "no temporary left")

        torchTest "truncated PyTorch-written and self-written files give a clear error naming the file" (fun () ->
            use dir = new TempDir()
            let own = dir.File "own.pth"
            do
                use m = new TinyResNet()
                PyTorchFile.Save(own, m.state_dict ())
            for source, tag in [ Reference.pathOf "tiny_resnet_state.pth", "pytorch"; own, "own" ] do
                for keep in [ 0.5; 0.9; 0.99 ] do
                    let cut = SafetensorsTests.truncated dir source $"cut-{tag}-{keep}.pth" keep
                    let e = invalidData cut $"{tag} cut to {keep}"
                    Expect.stringContains e.Message "truncated or corrupt" $"{tag} cut to {keep}: says why")

        torchTest "noise, an empty file, a zip that torch.save did not write and a missing file are reported" (fun () ->
            use dir = new TempDir()
            let noise = dir.File "noise.pth"
            let bytes = Array.zeroCreate<byte> 4096
            Random(5).NextBytes bytes
            File.WriteAllBytes(noise, bytes)
            Expect.stringContains (invalidData noise "noise").Message "not a zip archive" "noise: says what it is not"

            let empty = dir.File "empty.pth"
            File.WriteAllBytes(empty, Array.empty)
            Expect.stringContains (invalidData empty "empty").Message "0 bytes" "empty: says it is empty"

            let foreign = dir.File "foreign.pth"
            do
                use zip = ZipFile.Open(foreign, ZipArchiveMode.Create)
                use w = new StreamWriter(zip.CreateEntry("notes/readme.txt").Open())
                w.Write "not a pickle"
            invalidData foreign "zip without data.pkl" |> ignore

            let badPickle = dir.File "badpickle.pth"
            do
                use zip = ZipFile.Open(badPickle, ZipArchiveMode.Create)
                use s = zip.CreateEntry("archive/data.pkl").Open()
                s.Write(ReadOnlySpan(Array.init 64 byte))
            invalidData badPickle "zip with a corrupt data.pkl" |> ignore

            let missing = dir.File "absent.pth"
            let e = Expect.throwsC (fun () -> PyTorchFile.Load missing |> ignore) id
            Expect.isTrue (e :? FileNotFoundException) $"missing: {e.GetType().Name}"
            Expect.stringContains e.Message missing "missing: names the file"
            Expect.isFalse (Directory.GetFiles dir.Path |> Array.exists (fun f -> f.EndsWith ".tmp")) "no temporaries")
    ]
