/// The methods the CLI can train, by name. Each paper's method adds its entry here.
module Hybrid.Wsss.Methods.Registry

open Hybrid.Wsss.Training
open Hybrid.Wsss.Methods.Cam

/// The CPU recipe of the CAM baseline on FMNIST-Scenes (from scratch: AdamW, as the
/// calibration run of DESIGN.md).
let camRecipe = { Optimizer = AdamW 1e-4; Lr = 1e-3; Warmup = 100; BatchSize = 16; StrongView = false }

let cam =
    MethodEntry.singleStage "cam" "CAM baseline: multi-label classifier, CAMs as seeds" camRecipe
        [ "pooling", "gap|gmp"; "loss", "mlsm|bce"; "new_layer_lr", "float" ]
        CamBaseline.defaults CamBaseline.set CamBaseline.create

let supervised =
    MethodEntry.singleStage "supervised" "DeepLab-LargeFOV trained on masks (GT: the upper bound; pseudo masks: a second stage)" camRecipe
        [ "head", "deeplab_v1|cosa"; "new_layer_lr", "float" ]
        Supervised.defaults Supervised.set Supervised.create

let plda = Plda.PldaMethod.entry camRecipe

let all: MethodEntry list = [ cam; supervised; plda ]

let names = all |> List.map (fun e -> e.Name)

let find (name: string) =
    match all |> List.tryFind (fun e -> e.Name = name.ToLowerInvariant()) with
    | Some e -> e
    | None ->
        let known = String.concat ", " names
        invalidArg "method" $"unknown method '{name}' (known: {known})"
