/// The ImageNet ResNet-18 of ML.NET's DnnImageFeaturizer: our protobuf / ONNX reader on
/// hand-made messages, CNTK's padding rule, the importer (every initializer mapped exactly
/// once, wrong graphs refused), the cached safetensors conversion, and the key check: our
/// backbone's globally pooled features equal ONNX Runtime's output of ResNet18.onnx.
module Hybrid.Vision.Tests.ResNet18ImageNetTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open TorchSharp
open Microsoft.ML.OnnxRuntime
open Hybrid.Torch.Serialization
open Hybrid.Vision.Backbones
open Hybrid.Vision.Backbones.Onnx
open Hybrid.Vision.Tests.TestKit

// ---- a minimal protobuf writer, for hand-made messages -------------------------------------

let private varint (v: uint64) : byte[] =
    let out = ResizeArray<byte>()
    let mutable x = v
    while x >= 0x80UL do
        out.Add(byte ((x &&& 0x7FUL) ||| 0x80UL))
        x <- x >>> 7
    out.Add(byte x)
    out.ToArray()

let private tag (field: int) (wire: int) = varint (uint64 ((field <<< 3) ||| wire))
let private intField (field: int) (v: int64) = Array.append (tag field 0) (varint (uint64 v))
let private bytesField (field: int) (b: byte[]) = Array.concat [ tag field 2; varint (uint64 b.Length); b ]
let private stringField (field: int) (s: string) = bytesField field (Text.Encoding.UTF8.GetBytes s)
let private floatField (field: int) (v: float32) = Array.append (tag field 5) (BitConverter.GetBytes v)
let private packedFloats (field: int) (vs: float32[]) = bytesField field (vs |> Array.collect BitConverter.GetBytes)
let private packedInts (field: int) (vs: int64[]) = bytesField field (vs |> Array.collect (uint64 >> varint))
let private message (parts: byte[] list) = Array.concat parts

// ---- the package's files and a per-run weights cache ---------------------------------------

let private onnxPath = lazy (ResNet18ImageNetWeights.OnnxPath())
let private onnxModel = lazy (OnnxReader.Read onnxPath.Value)

/// Converted once per output folder (not in the user's ~/.cache).
let private cacheDir = Path.Combine(AppContext.BaseDirectory, "hybrid-cache")
let private pretrained = lazy (ResNet18ImageNetWeights.Pretrained(cacheDirectory = cacheDir))

let private create (os: OutputStride) (frozen: bool) =
    BackboneRegistry.Create(ResNet18ImageNet.RegistryName,
        BackboneOptions(OutputStride = Nullable os, Weights = pretrained.Value, FrozenBatchNorm = frozen))

/// The mean image of ResNetPreprocess.onnx (same package, tools/DnnImageModels/ResNetPrepOnnx),
/// averaged per channel: what the featurizer subtracts, in BGR order.
let private meanImageChannelMeans () =
    let prep = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName onnxPath.Value), "ResNetPrepOnnx", "ResNetPreprocess.onnx")
    let m = OnnxReader.Read prep
    let nodes = m.Graph.Nodes |> Seq.map (fun n -> n.OpType) |> List.ofSeq
    Expect.equal nodes [ "Split"; "Concat"; "Sub" ] "the preprocessing graph: split RGB, concatenate as BGR, subtract the mean image"
    let concat = m.Graph.Nodes[1]
    let split = m.Graph.Nodes[0]
    Expect.equal (List.ofSeq concat.Inputs) [ split.Outputs[2]; split.Outputs[1]; split.Outputs[0] ] "Concat reverses the channels (RGB -> BGR)"
    let mean = m.Graph.Initializers[m.Graph.Nodes[2].Inputs[1]]
    Expect.equal mean.Dims [| 1L; 3L; 224L; 224L |] "mean image shape"
    let plane = 224 * 224
    [| for c in 0 .. 2 -> mean.Floats[c * plane .. (c + 1) * plane - 1] |> Array.averageBy float |]

// ---- ONNX Runtime ---------------------------------------------------------------------------

/// ONNX Runtime's output of ResNet18.onnx for a (1, 3, 224, 224) input, with its shape.
let private runOnnxRuntime (input: float32[]) : float32[] * int64[] =
    use options = new SessionOptions(IntraOpNumThreads = 2)
    use session = new InferenceSession(onnxPath.Value, options)
    let name = session.InputMetadata.Keys |> Seq.exactlyOne
    Expect.equal name "Input247" "the graph's input"
    Expect.equal (session.InputMetadata[name].Dimensions) [| 1; 3; 224; 224 |] "the graph's input shape"
    use value = OrtValue.CreateTensorValueFromMemory<float32>(input, [| 1L; 3L; 224L; 224L |])
    use runOptions = new RunOptions()
    use results = session.Run(runOptions, readOnlyDict [ name, value ], session.OutputNames)
    let out = results |> Seq.exactlyOne
    out.GetTensorDataAsSpan<float32>().ToArray(), out.GetTensorTypeAndShape().Shape

[<Tests>]
let tests =
    testList "Backbones.ResNet18ImageNet" [
        testCase "The protobuf reader reads varints, strings, packed and fixed fields and sub-messages of a hand-made message" (fun () ->
            // 150 in field 1 is 08 96 01 and "testing" in field 2 is 12 07 74 65 73 74 69 6e 67
            // (the examples of protobuf's encoding guide): our writer agrees with the spec.
            Expect.equal (intField 1 150L) [| 0x08uy; 0x96uy; 0x01uy |] "varint example"
            Expect.equal (stringField 2 "testing") [| 0x12uy; 0x07uy; 0x74uy; 0x65uy; 0x73uy; 0x74uy; 0x69uy; 0x6euy; 0x67uy |] "string example"
            let msg =
                message [ intField 1 150L; stringField 2 "testing"; packedInts 3 [| 3L; 270L; -1L |]; floatField 4 1.5f
                          bytesField 5 (intField 1 7L); Array.append (tag 6 1) (BitConverter.GetBytes 42UL); intField 7 -2L ]
            let mutable r = ProtobufReader(ReadOnlyMemory msg, "hand-made")
            let struct (f1, w1) = r.ReadTag()
            Expect.equal (f1, w1) (1, WireType.Varint) "tag 1"
            Expect.equal (r.ReadVarint()) 150UL "varint"
            let struct (f2, w2) = r.ReadTag()
            Expect.equal (f2, w2) (2, WireType.LengthDelimited) "tag 2"
            Expect.equal (r.ReadString()) "testing" "string"
            let struct (f3, w3) = r.ReadTag()
            let ints = List<int64>()
            r.ReadRepeatedInt64(w3, ints)
            Expect.equal (f3, List.ofSeq ints) (3, [ 3L; 270L; -1L ]) "packed int64, -1 as a 10-byte varint"
            let struct (f4, w4) = r.ReadTag()
            Expect.equal (f4, w4) (4, WireType.Fixed32) "tag 4"
            Expect.equal (r.ReadFloat()) 1.5f "fixed32 float"
            let struct (f5, _) = r.ReadTag()
            let mutable sub = r.ReadMessage "sub"
            let struct (sf, _) = sub.ReadTag()
            Expect.equal (f5, sf, sub.ReadVarint(), sub.AtEnd) (5, 1, 7UL, true) "sub-message"
            let struct (f6, w6) = r.ReadTag()
            Expect.equal (f6, w6) (6, WireType.Fixed64) "tag 6"
            r.Skip w6
            let struct (f7, _) = r.ReadTag()
            Expect.equal (f7, r.ReadInt64(), r.AtEnd) (7, -2L, true) "negative int64, then the end"

            // Truncated and corrupt input: clear errors naming the source.
            let truncated = msg[.. msg.Length - 2]                           // inside the last varint
            let e = raises<InvalidDataException> "truncated" (fun () ->
                let mutable t = ProtobufReader(ReadOnlyMemory truncated, "hand-made.bin")
                while not t.AtEnd do
                    let struct (_, w) = t.ReadTag()
                    t.Skip w)
            Expect.stringContains e.Message "hand-made.bin" "names the source"
            Expect.stringContains e.Message "varint" "says where it ended"
            let overlong = message [ tag 2 2; varint 100UL; [| 1uy; 2uy |] ]
            let e = raises<InvalidDataException> "length past the end" (fun () ->
                let mutable t = ProtobufReader(ReadOnlyMemory overlong, "short.bin")
                t.ReadTag() |> ignore
                t.ReadBytes() |> ignore)
            Expect.stringContains e.Message "short.bin" "names the source"
            Expect.stringContains e.Message "100 bytes" "states the length")

        testCase "The ONNX reader reads a hand-made ModelProto: nodes, attributes, raw and float initializers, input shapes" (fun () ->
            let conv =
                message [ stringField 1 "x"; stringField 1 "w"; stringField 2 "y"; stringField 3 "conv0"; stringField 4 "Conv"
                          bytesField 5 (message [ stringField 1 "strides"; packedInts 8 [| 2L; 2L |]; intField 20 7L ])
                          bytesField 5 (message [ stringField 1 "pads"; intField 8 1L; intField 8 1L; intField 8 0L; intField 8 0L ])
                          bytesField 5 (message [ stringField 1 "epsilon"; floatField 2 1e-5f; intField 20 1L ])
                          bytesField 5 (message [ stringField 1 "group"; intField 3 1L ])
                          bytesField 5 (message [ stringField 1 "auto_pad"; stringField 4 "NOTSET" ])
                          bytesField 5 (message [ stringField 1 "alpha"; packedFloats 7 [| 0.5f; -2.0f |] ]) ]
            let raw = message [ intField 1 2L; intField 1 2L; intField 2 1L; stringField 8 "w"; bytesField 9 ([| 1.0f; 2.0f; 3.0f; 4.0f |] |> Array.collect BitConverter.GetBytes) ]
            let packed = message [ packedInts 1 [| 3L |]; intField 2 1L; stringField 8 "b"; packedFloats 4 [| 0.25f; 0.5f; 0.75f |] ]
            let dim (d: byte[]) = bytesField 1 d
            let input =
                message [ stringField 1 "x"
                          bytesField 2 (bytesField 1 (message [ intField 1 1L; bytesField 2 (message [ dim (intField 1 1L); dim (stringField 2 "N"); dim (intField 1 8L) ]) ])) ]
            let graph = message [ bytesField 1 conv; stringField 2 "g"; bytesField 5 raw; bytesField 5 packed; bytesField 11 input; bytesField 12 (stringField 1 "y") ]
            let model = message [ intField 1 3L; stringField 2 "test"; stringField 3 "1.0"; bytesField 8 (message [ stringField 1 ""; intField 2 8L ]); bytesField 7 graph; intField 99 5L ]
            let m = OnnxReader.Parse(ReadOnlyMemory model, "hand-made.onnx")
            Expect.equal (m.IrVersion, m.ProducerName, m.ProducerVersion, m.Opsets[""]) (3L, "test", "1.0", 8L) "model header"
            Expect.equal m.Graph.Name "g" "graph name"
            let n = Seq.exactlyOne m.Graph.Nodes
            Expect.equal (n.OpType, n.Name, List.ofSeq n.Inputs, List.ofSeq n.Outputs) ("Conv", "conv0", [ "x"; "w" ], [ "y" ]) "node"
            Expect.equal (n.Ints("strides", [||])) [| 2L; 2L |] "packed ints attribute"
            Expect.equal (n.Ints("pads", [||])) [| 1L; 1L; 0L; 0L |] "unpacked ints attribute"
            Expect.equal (n.Ints("dilations", [| 1L; 1L |])) [| 1L; 1L |] "absent attribute: the fallback"
            Expect.equal (n.Float("epsilon", 0.0f)) 1e-5f "float attribute"
            Expect.equal (n.Int("group", 0L)) 1L "int attribute"
            Expect.equal (n.String("auto_pad", "")) "NOTSET" "string attribute"
            Expect.equal (List.ofSeq n.Attributes["alpha"].Floats) [ 0.5f; -2.0f ] "floats attribute"
            let w = m.Graph.Initializers["w"]
            Expect.equal (w.Dims, w.DataType, w.Floats) ([| 2L; 2L |], 1, [| 1.0f; 2.0f; 3.0f; 4.0f |]) "raw_data initializer, unpacked dims"
            let b = m.Graph.Initializers["b"]
            Expect.equal (b.Dims, b.Floats) ([| 3L |], [| 0.25f; 0.5f; 0.75f |]) "float_data initializer, packed dims"
            let x = Seq.exactlyOne m.Graph.Inputs
            Expect.equal (x.Name, x.ElementType, List.ofSeq x.Shape) ("x", 1, [ Nullable 1L; Nullable(); Nullable 8L ]) "input: name, float, shape with a symbolic dimension"
            Expect.equal (m.Graph.Outputs |> Seq.map (fun o -> o.Name) |> List.ofSeq) [ "y" ] "output"

            // Errors name the file: a graph cut short, a tensor whose data does not fit its dims.
            let e = raises<InvalidDataException> "truncated model" (fun () -> OnnxReader.Parse(ReadOnlyMemory(model[.. model.Length - 20]), "cut.onnx") |> ignore)
            Expect.stringContains e.Message "cut.onnx" "names the file"
            let short = message [ intField 1 4L; intField 2 1L; stringField 8 "v"; packedFloats 4 [| 1.0f |] ]
            let bad = message [ bytesField 7 (bytesField 5 short) ]
            let e = raises<InvalidDataException> "short tensor" (fun () -> OnnxReader.Parse(ReadOnlyMemory bad, "short.onnx") |> ignore)
            Expect.stringContains e.Message "short.onnx" "names the file"
            Expect.stringContains e.Message "'v'" "names the tensor"
            let e = raises<InvalidDataException> "no graph" (fun () -> OnnxReader.Parse(ReadOnlyMemory(intField 1 3L), "empty.onnx") |> ignore)
            Expect.stringContains e.Message "empty.onnx" "names the file")

        testCase "CNTK padding: the file's [3,3,2,2] stem and [1,1,0,0] strided pads at 224, symmetric at stride 1, ceil(H/s) outputs" (fun () ->
            Expect.equal (CntkPadding.OnnxPads(224L, 224L, 7L, 2L)) [| 3L; 3L; 2L; 2L |] "7x7 stem on 224"
            Expect.equal (CntkPadding.OnnxPads(112L, 112L, 3L, 2L)) [| 1L; 1L; 0L; 0L |] "max-pool on 112"
            Expect.equal (CntkPadding.OnnxPads(56L, 56L, 1L, 2L)) [| 0L; 0L; 0L; 0L |] "1x1 shortcut"
            Expect.equal (CntkPadding.Along(14L, 3L, 1L, 2L)) (struct (2L, 2L)) "dilated 3x3 at stride 1"
            for size in [ 7L; 8L; 57L; 100L; 225L ] do
                for k, s in [ 7L, 2L; 3L, 2L; 1L, 2L; 3L, 1L ] do
                    let struct (b, a) = CntkPadding.Along(size, k, s)
                    Expect.equal ((size + b + a - k) / s + 1L) ((size + s - 1L) / s) $"ceil({size}/{s}) outputs for k={k}"
            use _scope = torch.NewDisposeScope()
            let x = torch.ones(1L, 1L, 5L, 6L)
            let p = CntkPadding.Pad(x, 3L, 2L, value = Double.NegativeInfinity)
            // Rows: centres 0, 2, 4 of 5 need 1 before and 1 after; columns: 0, 2, 4 of 6 need 1 and 0.
            Expect.equal p.shape [| 1L; 1L; 7L; 7L |] "5x6 padded for a 3x3 stride-2 window"
            Expect.isTrue (isTrue (p[0L, 0L, 0L].isinf().all())) "the padding value")

        testCase "The importer maps every initializer of ResNet18.onnx exactly once onto the module's state dict" (fun () ->
            let m = onnxModel.Value
            Expect.equal (m.ProducerName, m.IrVersion, m.Opsets[""]) ("CNTK", 3L, 8L) "a CNTK export, IR 3, opset 8"
            Expect.equal m.Graph.Nodes.Count 74 "nodes"
            Expect.equal m.Graph.Initializers.Count 110 "initializers: 22 convolutions and 22 batch norms x 4"
            use import = CntkResNetImporter.Import(m, ResNet18ImageNet.Config)
            Expect.equal import.Mapping.Count m.Graph.Initializers.Count "one mapping per initializer"
            Expect.equal (ordinal (import.Mapping |> Seq.map (fun t -> t.Initializer))) (ordinal m.Graph.Initializers.Keys) "every initializer, once"
            Expect.equal (ordinal (import.Mapping |> Seq.map (fun t -> t.Key))) (ordinal import.StateDict.Keys) "one key per mapping"
            use model = new ResNet18ImageNet(OutputStride.ThirtyTwo)
            let own = model.state_dict ()
            let expectedKeys = own.Keys |> Seq.filter (fun k -> not (k.EndsWith ".num_batches_tracked"))
            Expect.equal (ordinal import.StateDict.Keys) (ordinal expectedKeys) "exactly the module's keys (num_batches_tracked aside)"
            for KeyValue (k, t) in import.StateDict do
                Expect.equal t.shape own[k].shape $"{k}: shape"
            // Followed through the graph, not guessed: the stem's weight is the first Conv's input.
            let stem = m.Graph.Nodes |> Seq.find (fun n -> n.OpType = "Conv")
            let first = import.Mapping |> Seq.find (fun t -> t.Key = "conv1.weight")
            Expect.equal first.Initializer stem.Inputs[1] "conv1.weight is the first convolution's weight"
            Expect.isTrue (same import.StateDict["conv1.weight"] (floatTensor (m.Graph.Initializers[stem.Inputs[1]].Floats) [| 64L; 3L; 7L; 7L |])) "its values"
            Expect.isTrue (import.StateDict.ContainsKey "layer4.2.bn2.running_var") "the third block of the last stage")

        testCase "The importer refuses a graph whose weights are shared, left over or differently shaped" (fun () ->
            let m = onnxModel.Value
            let g = m.Graph
            let withGraph (nodes: OnnxNode seq) (inits: IReadOnlyDictionary<string, OnnxTensor>) =
                OnnxModel(m.Source, m.IrVersion, m.ProducerName, m.ProducerVersion, m.Opsets, OnnxGraph(g.Name, Array.ofSeq nodes, inits, g.Inputs, g.Outputs))
            let import model = CntkResNetImporter.Import(model, ResNet18ImageNet.Config) |> ignore
            // Two 512x512 convolutions of layer4 made to read one weight.
            let convs = g.Nodes |> Seq.filter (fun n -> n.OpType = "Conv") |> Array.ofSeq
            let a, b = convs[convs.Length - 1], convs[convs.Length - 2]
            let shared = OnnxNode(a.OpType, a.Name, [| a.Inputs[0]; b.Inputs[1] |], a.Outputs, a.Attributes)
            let e = raises<InvalidDataException> "shared" (fun () -> import (withGraph (g.Nodes |> Seq.map (fun n -> if obj.ReferenceEquals(n, a) then shared else n)) g.Initializers))
            Expect.stringContains e.Message "used twice" "a weight used twice"
            Expect.stringContains e.Message "ResNet18.onnx" "names the file"
            let extra = Dictionary<string, OnnxTensor>(g.Initializers)
            extra["Extra"] <- OnnxTensor("Extra", [| 1L |], 1, [| 0.0f |])
            let e = raises<InvalidDataException> "left over" (fun () -> import (withGraph (g.Nodes :> seq<_>) (extra :> IReadOnlyDictionary<_, _>)))
            Expect.stringContains e.Message "Extra" "names the unused initializer"
            // One block fewer in the last stage (torchvision's [2, 2, 2, 2]) does not fit this graph.
            let tv = ResNetConfig(ResNetBlockKind.Basic, [| 2; 2; 2; 2 |], [| 64L; 128L; 256L; 512L |], 64L, true)
            let e = raises<InvalidDataException> "torchvision layout" (fun () -> CntkResNetImporter.Import(m, tv) |> ignore)
            Expect.stringContains e.Message "global" "stops where the pool was expected")

        testCase "The conversion is cached as safetensors named by the ONNX file's SHA-256 and loads cleanly" (fun () ->
            let sw = Diagnostics.Stopwatch.StartNew()
            let path = pretrained.Value
            let first = sw.Elapsed
            Expect.isTrue (File.Exists path) "the cache file exists"
            let digest = ResNet18ImageNetWeights.Digest onnxPath.Value
            Expect.stringContains (Path.GetFileName path) digest[.. 15] "the name carries the source's digest"
            let written = File.GetLastWriteTimeUtc path
            Expect.equal (ResNet18ImageNetWeights.Pretrained(cacheDirectory = cacheDir)) path "the same file the second time"
            Expect.equal (File.GetLastWriteTimeUtc path) written "not converted again"
            let struct (tensors, meta) = Safetensors.Load path
            try
                Expect.equal meta["source_sha256"] digest "metadata: the source's digest"
                Expect.equal meta["backbone"] ResNet18ImageNet.RegistryName "metadata: the backbone"
                Expect.equal tensors.Count 110 "110 tensors"
            finally
                for t in tensors.Values do t.Dispose()
            use model = create OutputStride.ThirtyTwo false
            let report = model.LoadedWeights
            Expect.isTrue report.IsClean (string report)
            Expect.equal report.Loaded (model.state_dict().Count - 22) "everything but the 22 num_batches_tracked counters"
            printfn "resnet18_imagenet: weights ready in %.2f s (conversion when the cache was empty)" first.TotalSeconds)

        testCase "The per-channel means equal the featurizer's mean image averaged per channel, in BGR order" (fun () ->
            let means = meanImageChannelMeans ()
            for c in 0 .. 2 do within 1e-4 (means[c]) (BgrMeanInput.MeanBgr[c]) $"channel {c}"
            use _scope = torch.NewDisposeScope()
            let rgb = rand 3L [| 2L; 3L; 4L; 5L |]
            let direct = BgrMeanInput.FromRgb rgb
            let viaImageNet = BgrMeanInput.FromNormalized(ImageNormalization.ImageNet.Normalize rgb, ImageNormalization.ImageNet)
            close direct viaImageNet 1e-3 "undoing the ImageNet normalisation gives the same input"
            let red00 = (floats rgb)[2 * 20]                                 // batch 0, R, pixel (0, 0)
            let first = (floats direct)[0]                                  // batch 0, B, pixel (0, 0)
            within 1e-3 (255.0 * float red00 - BgrMeanInput.MeanBgr[0]) (float first) "B first")

        testCase "Pooled features at output stride 32 equal ONNX Runtime's output of ResNet18.onnx on the same image" (fun () ->
            use model = create OutputStride.ThirtyTwo false
            torch.manual_seed 1L |> ignore
            use random = BackboneRegistry.Create(ResNet18ImageNet.RegistryName, BackboneOptions(OutputStride = Nullable OutputStride.ThirtyTwo))
            use _scope = torch.NewDisposeScope()
            // A smooth image with texture, RGB in [0, 1].
            let yy = torch.linspace(0.0, 1.0, 224L).reshape(1L, 1L, 224L, 1L)
            let xx = torch.linspace(0.0, 1.0, 224L).reshape(1L, 1L, 1L, 224L)
            let noise = rand 11L [| 1L; 3L; 224L; 224L |]
            let rgb = (torch.cat([| yy.expand(1L, 1L, 224L, 224L); xx.expand(1L, 1L, 224L, 224L); (yy * xx * 12.0).sin().abs() |], 1L) * 0.7 + noise * 0.3).contiguous()
            // ONNX Runtime gets what ResNetPreprocess.onnx would give for 0..255 RGB, with channel means.
            let means = meanImageChannelMeans ()
            let bgr = torch.stack([| for c in 0 .. 2 -> rgb.select(1L, int64 (2 - c)) * 255.0 - means[c] |], 1L).contiguous()
            let reference, shape = runOnnxRuntime (floats bgr)
            Expect.equal shape [| 1L; 512L; 1L; 1L |] "the graph ends at the global pool"

            model.eval ()
            use _g = torch.no_grad ()
            let sw = Diagnostics.Stopwatch.StartNew()
            use feats = model.forward (ImageNormalization.ImageNet.Normalize rgb)
            let ms = sw.Elapsed.TotalMilliseconds
            Expect.equal feats.Final.shape [| 1L; 512L; 7L; 7L |] "7x7 final map"
            let pooled = floats (ResNet18ImageNet.GlobalPool feats.Final)
            let diff = Array.map2 (fun (a: float32) b -> abs (float a - float b)) pooled reference |> Array.max
            let scale = reference |> Array.map (fun v -> abs (float v)) |> Array.max
            printfn "resnet18_imagenet vs ONNX Runtime: max |diff| %.3g (max |feature| %.3g), forward at 224: %.0f ms" diff scale ms
            Expect.isGreaterThan scale 0.1 "the features are not trivially small"
            // Measured 4.05e-06 (features up to 10.4; 2 threads, libtorch 2.10 vs ONNX Runtime 1.32).
            Expect.isLessThan diff 1e-4 "pooled features equal ONNX Runtime's"
            // And it could fail: the same network with random weights is far off.
            random.eval ()
            use rf = random.forward (ImageNormalization.ImageNet.Normalize rgb)
            let other = floats (ResNet18ImageNet.GlobalPool rf.Final)
            Expect.isGreaterThan (Array.map2 (fun (a: float32) b -> abs (float a - float b)) other reference |> Array.max) 0.1 "random weights differ")

        for os, side in [ OutputStride.Sixteen, 14L; OutputStride.Eight, 28L ] do
            testCase $"At output stride {int os} a 224 image gives a {side}x{side} final map, finite, with the same parameters" (fun () ->
                use model = create os (os = OutputStride.Eight)
                use _scope = torch.NewDisposeScope()
                model.eval ()
                Expect.equal model.Info.OutputStride (int64 os) "FeatureInfo"
                use _g = torch.no_grad ()
                let rgb = rand 12L [| 1L; 3L; 224L; 224L |]
                use feats = model.forward (ImageNormalization.ImageNet.Normalize rgb)
                for stage in model.Info.Stages do
                    Expect.equal feats[stage.Name].shape [| 1L; stage.Channels; stage.SideFor 224L; stage.SideFor 224L |] $"{stage.Name}"
                Expect.equal feats.Final.shape [| 1L; 512L; side; side |] "final map"
                Expect.isTrue (isTrue (feats.Final.isfinite().all())) "finite"
                Expect.isGreaterThan (scalar (feats.Final.abs().mean())) 1e-3 "not all zero"
                Expect.equal (parameterCount model) 15_897_152L "parameters")

        testCase "Odd input sizes keep the branches aligned and give ceil(H / stride) maps" (fun () ->
            torch.manual_seed 2L |> ignore
            use model = BackboneRegistry.Create(ResNet18ImageNet.RegistryName, BackboneOptions(OutputStride = Nullable OutputStride.ThirtyTwo))
            use _scope = torch.NewDisposeScope()
            model.eval ()
            use _g = torch.no_grad ()
            use feats = model.forward (torch.randn(1L, 3L, 100L, 75L))
            for stage in model.Info.Stages do
                Expect.equal feats[stage.Name].shape [| 1L; stage.Channels; stage.SideFor 100L; stage.SideFor 75L |] $"{stage.Name}")
    ]
