/// The methods' settings tables (issue 21, point 2): one table per method is where keys,
/// types, defaults, parsing and validation come from; these are its laws.
module Hybrid.Wsss.Tests.SettingsTableTests

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
        // rows whose default shows as a note of another row (CoSA's momentum / momentum-horizon) have no value to retype
        let! row = Gen.elements (entry.Settings.Rows |> List.filter (fun r -> not (r.Default.StartsWith "(")))
        let key = row.Name
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
        return entry, row, pad + respelled + pad
    }

/// (entry, one of its rows): every row of every registered method.
let private rows = [ for e in Registry.all do for r in e.Settings.Rows -> e, r ]

[<Tests>]
let tests =
    testList "SettingsTable" [
        property "a respelled key resolves to the table's own spelling, with the value unchanged" (
            Prop.forAll (Arb.fromGen respelledKeys) (fun (entry, row, respelled) ->
                entry.Settings.Check [ respelled, row.Default ] = Ok [ row.Name, row.Default ]))

        testCase "a key no method knows is an error that lists the method's keys" <| fun () ->
            for entry in Registry.all do
                match entry.Settings.Check [ "no-such-key", "1" ] with
                | Ok _ -> failwith $"{entry.Name} accepted no-such-key"
                | Error [ msg ] ->
                    Expect.stringContains msg "no-such-key" "the message names the key"
                    for r in entry.Settings.Rows do Expect.stringContains msg r.Name $"the message lists {r.Name}"
                | Error ps -> failwith $"{entry.Name}: one problem expected, got %A{ps}"

        testCase "no method has two keys that differ only by separator or case" <| fun () ->
            for entry in Registry.all do
                let forms = entry.Settings.Rows |> List.map (fun r -> SettingsTable.keyForm r.Name)
                Expect.isTrue ((List.distinct forms).Length = forms.Length) ($"{entry.Name} has keys that collide: %A{forms}")

        testCase "every row has a doc line and a type; the defaults are valid settings" <| fun () ->
            for entry, r in rows do
                Expect.isTrue (r.Doc.Trim().Length > 5) $"{entry.Name}.{r.Name} has a doc line"
                Expect.isTrue (SettingType.describe r.Type <> "") $"{entry.Name}.{r.Name} has a type"
            for entry in Registry.all do
                Expect.equal (entry.Settings.Check []) (Ok []) $"{entry.Name}: no settings given is valid"

        testCase "law: setting any row to the value it shows for the defaults changes nothing" <| fun () ->
            // parse (show defaults) = defaults, row by row (rows whose default shows as a note
            // of another row, such as CoSA's momentum / momentum-horizon, are the only exceptions)
            for entry, r in rows do
                if not (r.Default.StartsWith "(") then
                    match entry.Settings.Check [ r.Name, r.Default ] with
                    | Ok pairs -> Expect.equal (entry.Settings.Resolve pairs) (entry.Settings.Resolve []) $"{entry.Name}.{r.Name}={r.Default} round trips"
                    | Error ps -> failwith $"{entry.Name}.{r.Name}={r.Default} (its own default) is refused: %A{ps}"

        testCase "a value of the wrong type is refused, naming the key and what it expected" <| fun () ->
            for entry, r in rows do
                let bad =
                    match r.Type with
                    | Flag -> Some "maybe"
                    | Integer -> Some "1.5x"
                    | Number -> Some "abc"
                    | Choice _ -> Some "no-such-case"
                    | Numbers -> Some "1,x"
                    | Text _ -> None
                match bad with
                | None -> ()
                | Some v ->
                    match entry.Settings.Check [ r.Name, v ] with
                    | Ok _ -> failwith $"{entry.Name}.{r.Name}={v} was accepted"
                    | Error ps ->
                        let msg = String.concat "; " ps
                        Expect.stringContains msg r.Name "the key"
                        Expect.stringContains msg "not " "what it is not"

        testCase "NaN and infinity are refused for every number" <| fun () ->
            for entry, r in rows do
                if r.Type = Number then
                    for v in [ "NaN"; "Infinity"; "-inf" ] do
                        Expect.isError (entry.Settings.Check [ r.Name, v ]) $"{entry.Name}.{r.Name}={v}"

        testCase "ranges are checked: the error says the rule" <| fun () ->
            let check (m: string) k v (rule: string) =
                match (Registry.find m).Settings.Check [ k, v ] with
                | Ok _ -> failwith $"{m} {k}={v} accepted"
                | Error ps -> Expect.stringContains (String.concat "; " ps) rule $"{m} {k}={v}"
            check "cosa" "threshold" "1.5" "(0, 1)"
            check "cosa" "queue" "0" ">= 1"
            check "plda" "delta" "1.2" "[0, 1]"
            check "cam" "new_layer_lr" "0" "> 0"
            check "csd" "lambda1" "-1" ">= 0"
            check "auxsegnet+" "stages" "0" ">= 1"
            check "cosa-ms" "ms-steps" "0" ">= 1"

        testCase "checks across keys see the whole config, in any order of the keys" <| fun () ->
            let plda = Registry.find "plda"
            Expect.isOk (plda.Settings.Check [ "delta", "0.8"; "assign", "simple"; "simple_low", "0.7" ]) "simple_low < delta"
            Expect.isOk (plda.Settings.Check [ "simple_low", "0.7"; "assign", "simple"; "delta", "0.8" ]) "the same in another order"
            match plda.Settings.Check [ "assign", "simple"; "simple_low", "0.7" ] with
            | Ok _ -> failwith "simple_low >= delta was accepted"
            | Error ps -> Expect.stringContains (String.concat "; " ps) "simple_low" "names the key"
            let aux = Registry.find "auxsegnet+"
            Expect.isError (aux.Settings.Check [ "branches", "seg" ]) "the cross-task affinity needs the saliency branch"
            Expect.isOk (aux.Settings.Check [ "branches", "seg"; "affinity", "seg" ]) "with a plain affinity it is fine"

        testCase "resolved settings list every row, in table order" <| fun () ->
            for entry in Registry.all do
                let resolved = entry.Settings.Resolve [ (entry.Settings.Rows.Head.Name, entry.Settings.Rows.Head.Default) ]
                Expect.equal (resolved |> List.map fst) (entry.Settings.Rows |> List.map (fun r -> r.Name)) entry.Name
            Expect.contains ((Registry.find "cosa").Settings.Resolve [ "GC", "off" ]) ("gc", "false") "gc=off resolves to false"
    ]
