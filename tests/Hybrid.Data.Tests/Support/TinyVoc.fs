namespace Hybrid.Data.Tests

open System.Collections.Generic
open System.IO
open Hybrid.Data

/// Writes tiny VOC-layout folders for the reader tests.
type TinyVoc(root: string, ?classes: IReadOnlyList<string>) =
    let classes = defaultArg classes ClassList.Voc
    do
        for d in [ "JPEGImages"; "SegmentationClass"; "Annotations"; "ImageSets/Segmentation" ] do
            Directory.CreateDirectory(Path.Combine(root, d)) |> ignore

    member _.Root = root

    /// An 8x6 image whose mask holds the given classes in vertical bands (plus a 255 border row).
    member _.Add(id: string, maskClasses: int[], ?xmlNames: string[], ?maskFolder: string, ?image: bool, ?mask: bool,
                 ?xml: bool, ?width: int, ?height: int) =
        let width = defaultArg width 8
        let height = defaultArg height 6
        let maskFolder = defaultArg maskFolder "SegmentationClass"
        if defaultArg image true then
            let px = Array.init (width * height * 3) (fun i -> byte (i * 7))
            ImageIO.WriteJpeg(Path.Combine(root, "JPEGImages", id + ".jpg"), Image(width, height, 3, px))
        if defaultArg mask true then
            let m =
                Array.init (width * height) (fun i ->
                    let y, x = i / width, i % width
                    if y = 0 then MaskIO.Ignore
                    elif maskClasses.Length = 0 then 0uy
                    else byte maskClasses[x * maskClasses.Length / width])
            Directory.CreateDirectory(Path.Combine(root, maskFolder)) |> ignore
            ImageIO.WritePng(Path.Combine(root, maskFolder, id + ".png"), Image.Indexed(width, height, m, VocPalette.Create()))
        if defaultArg xml true then
            let names =
                match xmlNames with
                | Some names -> names
                | None -> maskClasses |> Array.filter (fun c -> c > 0) |> Array.map (fun c -> classes[c])
            let objects = names |> Array.map (fun n -> $"<object><name>{n}</name><difficult>0</difficult></object>") |> String.concat ""
            File.WriteAllText(Path.Combine(root, "Annotations", id + ".xml"), $"<annotation><filename>{id}.jpg</filename>{objects}</annotation>")

    member _.Split(name: string, [<System.ParamArray>] ids: string[]) =
        File.WriteAllLines(Path.Combine(root, "ImageSets", "Segmentation", name + ".txt"), ids)
