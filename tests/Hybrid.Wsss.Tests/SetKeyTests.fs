/// `--set` keys: every method takes its keys with '-' or '_' as the separator and in any case.
module Hybrid.Wsss.Tests.SetKeyTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods

/// (entry, one of its keys, a respelling of that key: separators swapped, letters' case
/// flipped and surrounding spaces added, each at random).
let private respelledKeys =
    gen {
        let! entry = Gen.elements Registry.all
        let! key, _ = Gen.elements entry.Settings
        let! flips = Gen.arrayOfLength key.Length (Gen.elements [ 0; 1; 2 ])
        let respelled =
            String(
                Array.map2
                    (fun (c: char) flip ->
                        match c, flip with
                        | '-', 1 -> '_'
                        | '_', 1 -> '-'
                        | c, 2 -> Char.ToUpperInvariant c
                        | c, _ -> c)
                    (key.ToCharArray())
                    flips
            )
        let! pad = Gen.elements [ ""; " " ]
        return entry, key, pad + respelled + pad
    }

[<Fact>]
let ``a respelled key resolves to the method's own spelling`` () =
    Prop.check (
        Prop.forAll (Arb.fromGen respelledKeys) (fun (entry, key, respelled) ->
            MethodEntry.spelling entry respelled = key)
    )

[<Fact>]
let ``a key no method knows passes through unchanged, for the method to reject`` () =
    Prop.check (
        Prop.forAll (Arb.fromGen (Gen.elements Registry.all)) (fun entry ->
            MethodEntry.spelling entry "no-such-key" = "no-such-key")
    )

[<Fact>]
let ``no method has two keys that differ only by separator or case`` () =
    for entry in Registry.all do
        let forms = entry.Settings |> List.map (fun (k, _) -> k.ToLowerInvariant().Replace('_', '-'))
        Assert.True((List.distinct forms).Length = forms.Length, $"{entry.Name} has keys that collide: %A{forms}")

[<Fact>]
let ``the registered methods take either separator; the raw entries only their own`` () =
    let env = TinyScenes.env 2
    // CAM writes underscores, AuxSegNet+ hyphens
    let cam = (Registry.find "cam").Build env [ "new-layer-lr", "2" ]
    cam.Model.Dispose()
    let aux = (Registry.find "auxsegnet+").Build env [ "new_layer_lr_mult", "2" ]
    aux.Model.Dispose()
    Assert.Throws<ArgumentException>(fun () -> Registry.cam.Build env [ "new-layer-lr", "2" ] |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> Registry.auxSegNetPlus.Build env [ "new_layer_lr_mult", "2" ] |> ignore) |> ignore
