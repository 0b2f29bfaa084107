/// `--set` keys: every method takes its keys with '-' or '_' as the separator and in any case.
module Hybrid.Wsss.Tests.SetKeyTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods
open Hybrid.Wsss.Tests.Properties
open Hybrid.TestSupport.Expectations

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

[<Tests>]
let tests =
    testList "SetKey" [
        property "a respelled key resolves to the method's own spelling" (
            Prop.forAll (Arb.fromGen respelledKeys) (fun (entry, key, respelled) ->
                MethodEntry.spelling entry respelled = key))

        property "a key no method knows passes through unchanged, for the method to reject" (
            Prop.forAll (Arb.fromGen (Gen.elements Registry.all)) (fun entry ->
                MethodEntry.spelling entry "no-such-key" = "no-such-key"))

        testCase "no method has two keys that differ only by separator or case" <| fun () ->
            for entry in Registry.all do
                let forms = entry.Settings |> List.map (fun (k, _) -> k.ToLowerInvariant().Replace('_', '-'))
                Expect.isTrue ((List.distinct forms).Length = forms.Length) ($"{entry.Name} has keys that collide: %A{forms}")

        testCase "the registered methods take either separator; the raw entries only their own" <| fun () ->
            let env = TinyScenes.env 2
            // CAM writes underscores, AuxSegNet+ hyphens
            let cam = (Registry.find "cam").Build env [ "new-layer-lr", "2" ]
            cam.Model.Dispose()
            let aux = (Registry.find "auxsegnet+").Build env [ "new_layer_lr_mult", "2" ]
            aux.Model.Dispose()
            throws<ArgumentException> (fun () -> Registry.cam.Build env [ "new-layer-lr", "2" ] |> ignore) |> ignore
            throws<ArgumentException> (fun () -> Registry.auxSegNetPlus.Build env [ "new_layer_lr_mult", "2" ] |> ignore) |> ignore
    ]
