module Hybrid.Wsss.Tests.PldaConfigTests

open System
open Xunit
open Hybrid.Wsss.Methods.Plda

[<Fact>]
let ``defaults are the paper's`` () =
    let d = PldaConfig.defaults
    Assert.Equal(0.6, d.Delta)
    Assert.Equal(MaskAssign, d.Assignment)
    Assert.Equal(MultiHead, d.Discriminator)
    Assert.True(d.DomainAdaptation && d.CpsSource && d.CpsTarget)
    Assert.Equal({ Foreground = 0.6; Background = 0.7; Floor = 0.2 }, PldaConfig.cutoffs d)
    Assert.Equal(10.0, d.GrlGamma)
    Assert.Equal<int list>([ 1; 2; 4; 8; 12; 24 ], d.PamrDilations)
    PldaConfig.validate d |> ignore

[<Fact>]
let ``set parses every switch of Tab. VI-VIII`` () =
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
    Assert.Equal(0.8, c.CpsBackgroundRatio)
    Assert.Equal(Mada, c.Discriminator)
    Assert.Equal(SimpleAssign, c.Assignment)
    Assert.Equal(0.7, c.Delta)
    Assert.False(c.DomainAdaptation || c.CpsSource || c.CpsTarget)
    Assert.Equal<int list>([ 1; 2; 4 ], c.PamrDilations)
    for name, d in [ "multihead", MultiHead; "dann", Dann; "mmd", Mmd; "MADA", Mada ] do
        Assert.Equal(d, (PldaConfig.set "discriminator" name PldaConfig.defaults).Discriminator)

[<Fact>]
let ``unknown keys and bad values are errors that say what to fix`` () =
    let ex = Assert.Throws<ArgumentException>(fun () -> PldaConfig.set "detla" "0.5" PldaConfig.defaults |> ignore)
    Assert.Contains("detla", ex.Message)
    Assert.Contains("delta", ex.Message)
    Assert.Contains("cps_t", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> PldaConfig.set "discriminator" "gan" PldaConfig.defaults |> ignore)
    Assert.Contains("multihead, dann, mmd, mada", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> PldaConfig.set "delta" "high" PldaConfig.defaults |> ignore)
    Assert.Contains("not a number", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> PldaConfig.validate { PldaConfig.defaults with Delta = 1.5 } |> ignore)
    Assert.Contains("delta", ex.Message)
    let ex = Assert.Throws<ArgumentException>(fun () -> PldaConfig.validate { PldaConfig.defaults with Assignment = SimpleAssign; SimpleLow = 0.7 } |> ignore)
    Assert.Contains("simple_low", ex.Message)
