/// Safetensors files: round trips of every dtype, the published layout, a file written outside
/// this code, and clear errors (naming the file) for truncated or corrupt input.
module Hybrid.Torch.Tests.SafetensorsTests

open System
open System.Collections.Generic
open System.IO
open System.Text
open System.Text.Json
open Expecto
open TorchSharp
open Hybrid.Torch.Serialization
open Hybrid.Torch.Tests.OneThread

type private Tensor = torch.Tensor
type private ScalarType = torch.ScalarType

let private allDtypes =
    [ ScalarType.Float32; ScalarType.Float64; ScalarType.Float16; ScalarType.BFloat16; ScalarType.Int64
      ScalarType.Int32; ScalarType.Int16; ScalarType.Int8; ScalarType.Byte; ScalarType.Bool ]

/// The first `keep` fraction of a file's bytes, as a new file.
let truncated (dir: TempDir) (source: string) (name: string) (keep: float) =
    let bytes = File.ReadAllBytes source
    let path = dir.File name
    File.WriteAllBytes(path, bytes[.. int (float bytes.Length * keep) - 1])
    path

/// A file with the given JSON header and that many zero data bytes.
let private withHeader (dir: TempDir) (name: string) (json: string) (dataBytes: int) =
    let h = Encoding.UTF8.GetBytes json
    let path = dir.File name
    File.WriteAllBytes(path, Array.concat [ BitConverter.GetBytes(uint64 h.Length); h; Array.zeroCreate dataBytes ])
    path

let private invalidData (f: unit -> unit) (what: string) : exn =
    let e = Expect.throwsC f id
    Expect.isTrue (e :? InvalidDataException) $"{what}: {e.GetType().Name}: {e.Message}"
    e

let private load path = Safetensors.Load path |> ignore

[<Tests>]
let tests =
    testList "Safetensors" [
        torchTest "round trip of every dtype, 0-d, empty and non-contiguous tensors, and metadata" (fun () ->
            use dir = new TempDir()
            let path = dir.File "all.safetensors"
            use _scope = torch.NewDisposeScope()
            let tensors = Dictionary<string, Tensor>()
            for dt in allDtypes do
                let v = torch.arange (-3.0, 9.0, 1.0, dtype = ScalarType.Float64)
                let source = if dt = ScalarType.Bool then v.gt (torch.tensor 2.0) elif dt = ScalarType.Byte then v.abs () else v
                tensors[$"t.{dt}"] <- source.reshape(3L, 4L).to_type dt
            tensors["scalar"] <- torch.tensor (2.5, dtype = ScalarType.Float64)          // 0-d
            tensors["empty"] <- torch.zeros (0L, 3L)                                    // no elements
            let big = torch.arange(0.0, 24.0, 1.0, dtype = ScalarType.Float32).reshape(2L, 3L, 4L)
            tensors["noncontig"] <- big.permute(2L, 0L, 1L)                            // saved in logical order
            let meta = Dictionary<string, string>(dict [ "format", "pt"; "note", "ünïcode ok" ])
            Safetensors.Save(path, tensors, meta)

            let struct (back, m2) = Safetensors.Load path
            try
                Expect.equal (m2 |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq) (meta |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq) "metadata"
                Expect.equal (Set.ofSeq back.Keys) (Set.ofSeq tensors.Keys) "names"
                for kv in tensors do
                    Expect.equal back[kv.Key].dtype kv.Value.dtype $"'{kv.Key}' dtype"
                    Expect.sequenceEqual back[kv.Key].shape kv.Value.shape $"'{kv.Key}' shape"
                    Expect.isTrue (Same.tensors kv.Value back[kv.Key]) $"'{kv.Key}' changed"
            finally
                for t in back.Values do t.Dispose()

            // The layout is the published one: u64 LE header size, JSON header, 8-byte aligned data.
            let bytes = File.ReadAllBytes path
            let n = int64 (BitConverter.ToUInt64(bytes, 0))
            Expect.equal ((8L + n) % 8L) 0L "data section 8-byte aligned"
            use hdr = JsonDocument.Parse(ReadOnlyMemory(bytes, 8, int n))
            Expect.equal (hdr.RootElement.GetProperty("t.BFloat16").GetProperty("dtype").GetString()) "BF16" "BF16 dtype name"
            Expect.equal (hdr.RootElement.GetProperty("__metadata__").GetProperty("note").GetString()) "ünïcode ok" "metadata in the header"
            Expect.isFalse (File.Exists(path + ".tmp")) "no temp file"
            Expect.equal (Directory.GetFiles dir.Path).Length 1 "no temp files left behind")

        torchTest "a file written outside this code (by the fixture script) reads correctly" (fun () ->
            let fx = Reference.entry "safetensors_interop"
            let struct (ts, meta) = Safetensors.Load(Reference.pathOf "tiny_interop.safetensors")
            try
                Expect.equal meta["origin"] "make_torch_reference.py" "metadata"
                for p in fx.GetProperty("tensors").EnumerateObject() do
                    let dtype = fx.GetProperty("dtypes").GetProperty(p.Name).GetString()
                    let t = ts[p.Name]
                    let name =
                        match t.dtype with
                        | ScalarType.Float32 -> "float32"
                        | ScalarType.Int64 -> "int64"
                        | ScalarType.BFloat16 -> "bfloat16"
                        | ScalarType.Byte -> "uint8"
                        | ScalarType.Bool -> "bool"
                        | o -> string o
                    Expect.equal name dtype $"'{p.Name}' dtype"
                    Reference.close p.Value t 0.0 0.0 $"safetensors '{p.Name}'"
                Expect.equal (ts["b.i64"].data<int64>().[2]) (1L <<< 40) "int64 beyond 32 bits"
            finally
                for t in ts.Values do t.Dispose())

        torchTest "truncated or corrupt files give errors naming the file and the problem" (fun () ->
            use dir = new TempDir()
            let good = dir.File "good.safetensors"
            do
                use t = torch.ones (16L, 16L)
                Safetensors.Save(good, readOnlyDict [ "w", t ])

            let cut = truncated dir good "cut.safetensors" 0.6                         // data section cut short
            let e1 = invalidData (fun () -> load cut) "cut data"
            Expect.stringContains e1.Message cut "names the file"
            Expect.stringContains e1.Message "truncated" "says truncated"

            let headerCut = truncated dir good "header-cut.safetensors" 0.05           // inside the header
            Expect.stringContains (invalidData (fun () -> load headerCut) "cut header").Message headerCut "names the file"

            let tiny = dir.File "tiny.safetensors"
            File.WriteAllBytes(tiny, [| 1uy; 2uy; 3uy |])
            Expect.stringContains (invalidData (fun () -> load tiny) "3 bytes").Message tiny "names the file"

            let garbage = dir.File "garbage.safetensors"
            let g = Array.zeroCreate<byte> 64
            BitConverter.GetBytes(40UL).CopyTo(g, 0)
            Encoding.ASCII.GetBytes("this is not json at all, just bytes....").CopyTo(g, 8)
            File.WriteAllBytes(garbage, g)
            let e4 = invalidData (fun () -> load garbage) "not JSON"
            Expect.stringContains e4.Message garbage "names the file"
            Expect.stringContains e4.Message "JSON" "says JSON"

            let overlap =
                withHeader dir "overlap.safetensors"
                    """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""" 16
            Expect.stringContains (invalidData (fun () -> load overlap) "overlap").Message "overlap" "overlap"
            let size = withHeader dir "size.safetensors" """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}""" 12
            Expect.stringContains (invalidData (fun () -> load size) "size").Message "needs 8" "size"
            let dtype = withHeader dir "dtype.safetensors" """{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}""" 8
            Expect.stringContains (invalidData (fun () -> load dtype) "dtype").Message "unsupported dtype" "dtype"
            // Well-formed JSON of the wrong shape is still a clear data error, not a JSON API exception.
            let wrongTypes = withHeader dir "types.safetensors" """{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}""" 8
            Expect.stringContains (invalidData (fun () -> load wrongTypes) "types").Message wrongTypes "names the file"
            let notObject = withHeader dir "entry.safetensors" """{"a":[1,2,3]}""" 0
            Expect.stringContains (invalidData (fun () -> load notObject) "entry").Message notObject "names the file"
            let badMeta = withHeader dir "meta.safetensors" """{"__metadata__":{"k":3}}""" 0
            Expect.stringContains (invalidData (fun () -> load badMeta) "metadata").Message badMeta "names the file"

            Expect.throwsT<FileNotFoundException> (fun () -> load (dir.File "absent.safetensors")) "absent file")

        torchTest "a failed write leaves the previous file and no temporary behind (AtomicFile)" (fun () ->
            use dir = new TempDir()
            let path = dir.File "target.bin"
            AtomicFile.WriteAllText(path, "first")
            Expect.throwsT<InvalidOperationException>
                (fun () -> AtomicFile.Write(path, fun s -> s.WriteByte 42uy; invalidOp "crash mid-write")) "the writer's exception passes"
            Expect.equal (File.ReadAllText path) "first" "the target is untouched"
            Expect.sequenceEqual (Directory.GetFiles dir.Path) [ path ] "no temporary left"
            AtomicFile.WriteAllText(path, "second")
            Expect.equal (File.ReadAllText path) "second" "replaced whole"
            Expect.sequenceEqual (Directory.GetFiles dir.Path) [ path ] "still one file")
    ]
