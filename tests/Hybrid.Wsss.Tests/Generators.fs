/// Generators of valid inputs for the properties (no `==>` filters: every generated value is
/// a valid input by construction).
module Hybrid.Wsss.Tests.Generators

open FsCheck
open FsCheck.FSharp
open Hybrid.Wsss

/// Float uniformly on a grid of [lo, hi] (10^6 steps).
let floatIn (lo: float) (hi: float) : Gen<float> =
    Gen.choose (0, 1_000_000) |> Gen.map (fun i -> lo + (hi - lo) * float i / 1e6)

/// Confidence in [0, 1], with extra weight on the ends and a few repeated values.
let confidence: Gen<float> =
    Gen.frequency [ 8, floatIn 0.0 1.0; 1, Gen.elements [ 0.0; 1.0; 0.5 ] ]

/// Non-empty arrays of confidences of a few shapes: arbitrary, two clusters, constant,
/// two values.
let confidences: Gen<float[]> =
    let arbitrary = gen {
        let! n = Gen.choose (1, 200)
        return! Gen.arrayOfLength n confidence
    }
    let clustered = gen {
        let! m1 = floatIn 0.02 0.45
        let! m2 = floatIn 0.55 0.98
        let! s1 = floatIn 0.005 0.1
        let! s2 = floatIn 0.005 0.1
        let! n1 = Gen.choose (1, 150)
        let! n2 = Gen.choose (1, 150)
        // sum of three uniforms: a bell shape without needing a normal generator
        let bell m s = Gen.map3 (fun a b c -> min 1.0 (max 0.0 (m + s * (a + b + c - 1.5) * 2.0))) (floatIn 0.0 1.0) (floatIn 0.0 1.0) (floatIn 0.0 1.0)
        let! a = Gen.arrayOfLength n1 (bell m1 s1)
        let! b = Gen.arrayOfLength n2 (bell m2 s2)
        return Array.append a b
    }
    let constant = gen {
        let! n = Gen.choose (1, 50)
        let! v = confidence
        return Array.create n v
    }
    let twoValues = gen {
        let! n = Gen.choose (2, 50)
        let! a = confidence
        let! b = confidence
        return! Gen.arrayOfLength n (Gen.elements [ a; b ])
    }
    Gen.frequency [ 4, arbitrary; 4, clustered; 1, constant; 1, twoValues ]

/// A random permutation of an array.
let permutationOf (xs: 'T[]) : Gen<'T[]> = Gen.shuffle xs

/// ClassMaps of a small image with 0..maxClasses present classes (distinct labels in 1..20)
/// and activations in [0, 1].
let classMaps (maxClasses: int) : Gen<ClassMaps> = gen {
    let! h = Gen.choose (1, 6)
    let! w = Gen.choose (1, 6)
    let! k = Gen.choose (0, maxClasses)
    let! classes = Gen.shuffle [| 1..20 |] |> Gen.map (Array.take k)
    let! maps = Gen.arrayOfLength (k * h * w) confidence
    return ClassMaps.create h w classes maps
}

/// Label sets of a small multi-label dataset: numClasses in 2..8, 1..40 images of 1..3
/// distinct classes each.
let labelSets: Gen<int * int[][]> = gen {
    let! c = Gen.choose (2, 8)
    let! n = Gen.choose (1, 40)
    let image = gen {
        let! k = Gen.frequency [ 4, Gen.constant 1; 4, Gen.constant 2; 2, Gen.constant 3 ]
        let! perm = Gen.shuffle [| 0 .. c - 1 |]
        return perm |> Array.take (min k c)
    }
    let! sets = Gen.arrayOfLength n image
    return c, sets
}

/// numClasses and a label array (values 0..C-1, some 255) of 1..200 pixels with at least one
/// labelled pixel.
let labelArray: Gen<int * int[]> = gen {
    let! c = Gen.choose (2, 7)
    let! n = Gen.choose (1, 200)
    let pixel = Gen.frequency [ 9, Gen.choose (0, c - 1); 1, Gen.constant 255 ]
    let! labels = Gen.arrayOfLength n pixel
    let! first = Gen.choose (0, c - 1)
    labels.[0] <- first
    return c, labels
}

/// A prediction for a ground-truth array: labels 0..C-1 that agree with the ground truth at
/// a random rate.
let predictionFor (numClasses: int) (gt: int[]) : Gen<int[]> =
    gt
    |> Array.map (fun g ->
        Gen.frequency [ 3, Gen.constant (if g = 255 then 0 else g); 2, Gen.choose (0, numClasses - 1) ])
    |> Gen.sequenceToArray
