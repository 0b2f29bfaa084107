/// torch.save files written by Debian's python3-torch 1.13 (Fixtures/Backbones/make_fixtures.py:
/// base = arange(12).reshape(3, 4) as float32), read through Hybrid.Torch's PyTorchFile, the
/// reader BackboneWeights uses for .pth checkpoints.
module Hybrid.Vision.Tests.TorchSaveReaderTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Vision.Tests.TestKit
open Hybrid.Vision.Tests.BackboneFixtures

let private baseValues = Array.init 12 float32

let private disposeAll (d: Dictionary<string, Tensor>) = for t in d.Values do t.Dispose()

[<Tests>]
let tests =
    testList "Backbones.TorchSave" [
        testCase "A one-entry dict reads" (fun () ->
            let d = PyTorchFile.Load(pathOf "torchsave_single.pth")
            try
                Expect.sequenceEqual d.Keys [ "only" ] "keys"
                Expect.equal d["only"].shape [| 3L; 4L |] "shape"
                Expect.equal (floats d["only"]) baseValues "values"
            finally disposeAll d)

        testCase "Views, expands, dtypes, nesting and non-tensor objects read" (fun () ->
            let d = PyTorchFile.Load(pathOf "torchsave_cases.pth")
            try
                Expect.equal (ordinal d.Keys) [ "model.b"; "model.e"; "model.h"; "model.i"; "model.n.0"; "model.n.1.deep"; "model.t" ] "keys"
                Expect.equal d["model.t"].shape [| 4L; 3L |] "transposed view shape"
                Expect.equal (floats d["model.t"]) [| 0.0f; 4.0f; 8.0f; 1.0f; 5.0f; 9.0f; 2.0f; 6.0f; 10.0f; 3.0f; 7.0f; 11.0f |] "transposed view values"
                Expect.equal (floats d["model.e"]) (Array.create 6 2.5f) "expanded (stride 0)"
                Expect.equal d["model.h"].dtype ScalarType.Float16 "float16 kept"
                Expect.equal (floats d["model.h"]) baseValues "float16 values"
                Expect.equal (longs d["model.i"]) [| 0L; 1L; 2L; 3L; 4L |] "int64"
                Expect.equal (bools d["model.b"]) [| true; false |] "bool"
                Expect.equal (floats d["model.n.0"]) [| 4.0f; 5.0f; 6.0f; 7.0f |] "list element (a row view)"
                Expect.equal (floats d["model.n.1.deep"]) [| 1.0f; 2.0f; 5.0f; 6.0f; 9.0f; 10.0f |] "dict in a list (a column slice)"
            finally disposeAll d)

        testCase "The legacy (pre-1.6) format is refused clearly, naming the file" (fun () ->
            let path = pathOf "torchsave_legacy.pth"
            let e = raises<InvalidDataException> "legacy file" (fun () -> PyTorchFile.Load path |> disposeAll)
            Expect.stringContains e.Message path "names the file"
            Expect.stringContains e.Message "re-save" "says how to convert it")

        testCase "A truncated file is a clear error" (fun () ->
            for name in [ "torchsave_cases.pth"; "torchsave_legacy.pth" ] do
                let bytes = File.ReadAllBytes(pathOf name)
                let path = Path.Combine(Path.GetTempPath(), $"hybrid-truncated-{Environment.ProcessId}.pth")
                File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 10).ToArray())
                try
                    let e = raises<InvalidDataException> $"{name} truncated" (fun () -> PyTorchFile.Load path |> disposeAll)
                    Expect.stringContains e.Message path "names the file"
                finally File.Delete path)
    ]
