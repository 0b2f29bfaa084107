namespace Hybrid.Wsss.Numerics

open System

/// A pure pseudo-random generator over Hybrid.Data.SplitMix64 (the one SplitMix64, which also
/// seeds the data generator Hybrid.Data.Rng). Each draw returns the value and the next
/// generator, so sampling code stays pure and a fixed seed replays exactly on every platform
/// and .NET version.
[<Struct>]
type Rng = private { State: uint64 }

module Rng =
    /// A generator from a seed; different seeds give independent-looking streams.
    let create (seed: int64) : Rng = { State = uint64 seed }

    /// Next 64 random bits.
    let nextUInt64 (rng: Rng) : uint64 * Rng =
        let mutable s = rng.State
        let bits = Hybrid.Data.SplitMix64.Next(&s)
        bits, { State = s }

    /// Uniform float in [0, 1) with 53 random bits.
    let nextFloat (rng: Rng) : float * Rng =
        let bits, next = nextUInt64 rng
        float (bits >>> 11) * (1.0 / 9007199254740992.0), next

    /// Uniform integer in [0, n), n >= 1 (bias below n / 2^53, irrelevant here).
    let nextInt (n: int) (rng: Rng) : int * Rng =
        if n < 1 then invalidArg (nameof n) (sprintf "nextInt needs n >= 1, got %d." n)
        let u, next = nextFloat rng
        min (n - 1) (int (u * float n)), next

    /// Index drawn with probability proportional to the non-negative weights. Zero-weight
    /// entries are never drawn. Fails if no weight is positive.
    let categorical (weights: float[]) (rng: Rng) : int * Rng =
        let cumulative = Array.zeroCreate weights.Length
        let mutable total = 0.0
        for i in 0 .. weights.Length - 1 do
            let w = weights.[i]
            if Double.IsNaN w || w < 0.0 || Double.IsInfinity w then
                invalidArg (nameof weights) (sprintf "Weight %d is %g; weights must be finite and >= 0." i w)
            total <- total + w
            cumulative.[i] <- total
        if not (total > 0.0) then invalidArg (nameof weights) "No positive weight to sample from."
        let u, next = nextFloat rng
        let target = u * total
        // first index whose cumulative weight exceeds the target; a zero-weight index has the
        // same cumulative value as its predecessor and so can never be the first to exceed it
        let mutable idx = -1
        let mutable i = 0
        while idx < 0 && i < weights.Length do
            if target < cumulative.[i] then idx <- i
            i <- i + 1
        // rounding can leave target at the very top; then take the last positive weight
        if idx < 0 then idx <- Array.findIndexBack (fun w -> w > 0.0) weights
        idx, next
