module Hybrid.Wsss.Tests.PldaConfigTests

open System
open Expecto
open Hybrid.Wsss.Methods.Plda
open Hybrid.TestSupport.Expectations

[<Tests>]
let tests =
    testList "PldaConfig" [
        testCase "defaults are the paper's" <| fun () ->
            let d = PldaConfig.defaults
            Expect.equal d.Delta 0.6 "d.Delta"
            Expect.equal d.Assignment MaskAssign "d.Assignment"
            Expect.equal d.Discriminator MultiHead "d.Discriminator"
            Expect.isTrue (d.DomainAdaptation && d.CpsSource && d.CpsTarget) "d.DomainAdaptation && d.CpsSource && d.CpsTarget"
            Expect.equal (PldaConfig.cutoffs d) ({ Foreground = 0.6; Background = 0.7; Floor = 0.2 }) "PldaConfig.cutoffs d"
            Expect.equal d.GrlGamma 10.0 "d.GrlGamma"
            Expect.equal d.PamrDilations [ 1; 2; 4; 8; 12; 24 ] "d.PamrDilations"
            PldaConfig.validate d |> ignore

        testCase "set parses every switch of Tab. VI-VIII" <| fun () ->
            let c =
                PldaConfig.defaults
                |> PldaConfig.set "discriminator" "mada"
                |> PldaConfig.set "assign" "simple"
                |> PldaConfig.set "delta" "0.7"
                |> PldaConfig.set "da" "off"
                |> PldaConfig.set "cps_s" "false"
                |> PldaConfig.set "cps_t" "0"
                |> PldaConfig.set "pamr_dilations" "1, 2,4"
                |> PldaConfig.set "cps_bg_ratio" "0.8"
            Expect.equal c.CpsBackgroundRatio 0.8 "c.CpsBackgroundRatio"
            Expect.equal c.Discriminator Mada "c.Discriminator"
            Expect.equal c.Assignment SimpleAssign "c.Assignment"
            Expect.equal c.Delta 0.7 "c.Delta"
            Expect.isFalse (c.DomainAdaptation || c.CpsSource || c.CpsTarget) "c.DomainAdaptation || c.CpsSource || c.CpsTarget"
            Expect.equal c.PamrDilations [ 1; 2; 4 ] "c.PamrDilations"
            for name, d in [ "multihead", MultiHead; "dann", Dann; "mmd", Mmd; "MADA", Mada ] do
                Expect.equal ((PldaConfig.set "discriminator" name PldaConfig.defaults).Discriminator) d "(PldaConfig.set 'discriminator' name PldaConfig.defaults).Discriminator"

        testCase "unknown keys and bad values are errors that say what to fix" <| fun () ->
            let ex = throws<ArgumentException> (fun () -> PldaConfig.set "detla" "0.5" PldaConfig.defaults |> ignore)
            Expect.stringContains ex.Message "detla" "'detla'"
            Expect.stringContains ex.Message "delta" "'delta'"
            Expect.stringContains ex.Message "cps_t" "'cps_t'"
            let ex = throws<ArgumentException> (fun () -> PldaConfig.set "discriminator" "gan" PldaConfig.defaults |> ignore)
            Expect.stringContains ex.Message "multihead, dann, mmd, mada" "'multihead, dann, mmd, mada'"
            let ex = throws<ArgumentException> (fun () -> PldaConfig.set "delta" "high" PldaConfig.defaults |> ignore)
            Expect.stringContains ex.Message "not a number" "'not a number'"
            let ex = throws<ArgumentException> (fun () -> PldaConfig.validate { PldaConfig.defaults with Delta = 1.5 } |> ignore)
            Expect.stringContains ex.Message "delta" "'delta'"
            let ex = throws<ArgumentException> (fun () -> PldaConfig.validate { PldaConfig.defaults with Assignment = SimpleAssign; SimpleLow = 0.7 } |> ignore)
            Expect.stringContains ex.Message "simple_low" "'simple_low'"
    ]
