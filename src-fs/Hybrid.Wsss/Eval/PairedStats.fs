namespace Hybrid.Wsss.Eval

open System
open Hybrid.Wsss.Numerics

/// Mean and sample standard deviation of one configuration across seeds.
type Summary = { N: int; Mean: float; Std: float }

/// A paired t-test of a method against its baseline over the same seeds.
type PairedTest =
    { N: int
      /// mean of (method - baseline)
      MeanDifference: float
      /// sample standard deviation of the differences
      StdDifference: float
      T: float
      DegreesOfFreedom: int
      /// two-sided p-value
      PValue: float }

/// Statistics for the reproduction tables: mean +- std and paired t-tests across seeds.
module PairedStats =
    let private checkFinite name (xs: float[]) =
        match xs |> Array.tryFindIndex (fun v -> Double.IsNaN v || Double.IsInfinity v) with
        | Some i -> invalidArg name (sprintf "Value %d is %g; statistics need finite scores." i xs.[i])
        | None -> ()

    /// Mean and sample standard deviation (n - 1); the std is NaN for a single value.
    let summarise (xs: float[]) : Summary =
        if xs.Length = 0 then invalidArg (nameof xs) "Cannot summarise an empty list of scores."
        checkFinite (nameof xs) xs
        let mean = Array.average xs
        let std =
            if xs.Length < 2 then nan
            else sqrt ((xs |> Array.sumBy (fun x -> (x - mean) * (x - mean))) / float (xs.Length - 1))
        { N = xs.Length; Mean = mean; Std = std }

    /// "mean +- std" with the given decimals.
    let format (decimals: int) (s: Summary) : string =
        let f (v: float) = v.ToString("F" + string decimals, Globalization.CultureInfo.InvariantCulture)
        if Double.IsNaN s.Std then sprintf "%s (n=1)" (f s.Mean) else sprintf "%s +- %s" (f s.Mean) (f s.Std)

    /// Paired two-sided t-test of `method` against `baseline` (index i = the same seed):
    /// t = mean(d) / (sd(d) / sqrt n), df = n - 1, p from the Student-t distribution. Needs
    /// n >= 2. Identical differences give t = 0, p = 1 when they are all 0, and t = +-inf,
    /// p = 0 otherwise.
    let pairedTTest (method: float[]) (baseline: float[]) : PairedTest =
        if method.Length <> baseline.Length then
            invalidArg (nameof baseline) (sprintf "A paired test needs one baseline score per method score: %d vs %d." method.Length baseline.Length)
        if method.Length < 2 then
            invalidArg (nameof method) (sprintf "A paired t-test needs at least 2 seeds, got %d." method.Length)
        checkFinite (nameof method) method
        checkFinite (nameof baseline) baseline
        let d = Array.map2 (-) method baseline
        let s = summarise d
        let n = d.Length
        let t =
            if s.Std > 0.0 then s.Mean / (s.Std / sqrt (float n))
            elif s.Mean = 0.0 then 0.0
            elif s.Mean > 0.0 then infinity
            else -infinity
        { N = n
          MeanDifference = s.Mean
          StdDifference = s.Std
          T = t
          DegreesOfFreedom = n - 1
          PValue = SpecialFunctions.studentTTwoSided (float (n - 1)) t }
