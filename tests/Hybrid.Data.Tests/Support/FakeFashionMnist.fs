/// Writes tiny Fashion-MNIST-format IDX files (train gzipped, test plain) of simple per-class shapes.
module Hybrid.Data.Tests.FakeFashionMnist

open System
open System.Buffers.Binary
open System.IO
open System.IO.Compression

let writeIdx (path: string) (data: byte[]) (dims: int[]) (gzip: bool) =
    let header = Array.zeroCreate<byte> (4 + 4 * dims.Length)
    header[2] <- 0x08uy
    header[3] <- byte dims.Length
    for d in 0 .. dims.Length - 1 do
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), dims[d])
    if not gzip then
        File.WriteAllBytes(path, Array.append header data)
    else
        use file = File.Create(path + ".gz")
        use gz = new GZipStream(file, CompressionLevel.Fastest)
        gz.Write(header, 0, header.Length)
        gz.Write(data, 0, data.Length)

let private writeSplit (dir: string) (prefix: string) (perClass: int) (gzip: bool) =
    let n = perClass * 10
    let images = Array.zeroCreate<byte> (n * 784)
    let labels = Array.zeroCreate<byte> n
    for i in 0 .. n - 1 do
        let c = i % 10
        labels[i] <- byte c
        // A filled ellipse whose proportions depend on the class, brighter in its centre.
        let rx = 4.0f + float32 c
        let ry = 13.0f - float32 c * 0.6f + float32 (i % 3)
        for y in 0 .. 27 do
            for x in 0 .. 27 do
                let dx = (float32 x - 13.5f) / rx
                let dy = (float32 y - 13.5f) / ry
                let d = dx * dx + dy * dy
                if d < 1.0f then images[i * 784 + y * 28 + x] <- byte (255.0f - 120.0f * d)
    writeIdx (Path.Combine(dir, $"{prefix}-images-idx3-ubyte")) images [| n; 28; 28 |] gzip
    writeIdx (Path.Combine(dir, $"{prefix}-labels-idx1-ubyte")) labels [| n |] gzip

let write (dir: string) (perClassTrain: int) (perClassTest: int) =
    Directory.CreateDirectory dir |> ignore
    writeSplit dir "train" perClassTrain true
    writeSplit dir "t10k" perClassTest false

/// The default sizes: 12 train and 4 test items per class.
let writeDefault (dir: string) = write dir 12 4
