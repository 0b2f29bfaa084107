namespace Hybrid.Wsss.Thresholds

open System

/// One weighted mixture component pi * N(x | mu, sigma^2).
type GaussianComponent =
    { Weight: float
      Mean: float
      Variance: float }

/// A two-component 1-D Gaussian mixture fitted by EM. `Background` is the component with the
/// lower mean, `Foreground` the higher (CoSA Eq. 6: fg/bg confidence clusters).
type Mixture2 =
    { Background: GaussianComponent
      Foreground: GaussianComponent
      /// Weighted log-likelihood sum_i w_i log(sum_k pi_k N(x_i | mu_k, sigma_k^2)) of the data
      LogLikelihood: float
      Iterations: int
      Converged: bool }

/// EM settings. `Tolerance` is the stopping change of log-likelihood per unit of data weight;
/// `MinVariance` floors each component variance so a component collapsing onto one value (or
/// constant data) stays a proper density.
type EmOptions =
    { MaxIterations: int
      Tolerance: float
      MinVariance: float }

/// Two-component 1-D Gaussian mixture by expectation-maximisation, on weighted samples (a
/// weight is a multiplicity, e.g. a histogram count), and the likelihood-maximising split
/// between its components (CoSA's dynamic threshold xi*, Eq. 6).
module GaussianMixture =
    /// 300 iterations at most, stop when the log-likelihood gains < 1e-10 per unit weight,
    /// variances >= 1e-6 (a standard deviation of 0.001: the width of a confidence histogram bin).
    let defaults =
        { MaxIterations = 300
          Tolerance = 1e-10
          MinVariance = 1e-6 }

    /// log(pi N(x | mu, sigma^2)): the log of a component's weighted density at x.
    let logWeightedDensity (g: GaussianComponent) (x: float) : float =
        let d = x - g.Mean
        log g.Weight - 0.5 * (log (2.0 * Math.PI * g.Variance) + d * d / g.Variance)

    /// log of the mixture density at x.
    let logDensity (m: Mixture2) (x: float) : float =
        let a = logWeightedDensity m.Background x
        let b = logWeightedDensity m.Foreground x
        let hi = max a b
        hi + log (exp (a - hi) + exp (b - hi))

    /// r(x) = log(pi_fg N_fg(x)) - log(pi_bg N_bg(x)); > 0 where the foreground component's
    /// weighted density is the larger.
    let logRatio (m: Mixture2) (x: float) : float =
        logWeightedDensity m.Foreground x - logWeightedDensity m.Background x

    let private validate (values: float[]) (weights: float[]) =
        if values.Length <> weights.Length then
            invalidArg (nameof weights) (sprintf "GMM fit: %d values but %d weights." values.Length weights.Length)
        match values |> Array.tryFindIndex (fun v -> Double.IsNaN v || Double.IsInfinity v) with
        | Some i -> invalidArg (nameof values) (sprintf "GMM fit: value %d is %g; values must be finite." i values.[i])
        | None -> ()
        match weights |> Array.tryFindIndex (fun w -> Double.IsNaN w || Double.IsInfinity w || w < 0.0) with
        | Some i -> invalidArg (nameof weights) (sprintf "GMM fit: weight %d is %g; weights must be finite and >= 0." i weights.[i])
        | None -> ()
        if not (Array.sum weights > 0.0) then
            invalidArg (nameof weights) "GMM fit needs data: the total weight is 0 (empty queue or no confidences)."

    /// Weighted q-quantile: the smallest value whose cumulative weight reaches q * total.
    let private quantile (sorted: (float * float)[]) (total: float) (q: float) =
        let target = q * total
        let mutable acc = 0.0
        let mutable result = fst sorted.[sorted.Length - 1]
        let mutable found = false
        for (v, w) in sorted do
            if not found then
                acc <- acc + w
                if acc >= target then
                    result <- v
                    found <- true
        result

    let private ordered (a: GaussianComponent) (b: GaussianComponent) =
        if a.Mean <= b.Mean then a, b else b, a

    /// EM from (bg, fg) on weighted samples (zero weights already dropped): an E pass, then M
    /// and E passes until the weighted log-likelihood gains at most `options.Tolerance * total`
    /// or `maxIterations` M passes have run. Returns the components (bg, fg as started, not
    /// reordered), the log-likelihood, the M passes run and whether it converged.
    /// E pass: each sample's log(pi N) under both components (logWeightedDensity, term for term,
    /// its sample-free terms computed once per pass), their log-sum-exp, the background
    /// responsibilities. M pass: each component's weighted maximum-likelihood update from its
    /// responsibilities (1 - background for the foreground); a component whose responsibility
    /// mass vanishes keeps its mean and variance and its weight is floored; then the weights
    /// are renormalised.
    /// One function with its loops written out, no per-sample call or closure: under
    /// TorchSharp's scalar lifetime guard (README, "TorchSharp and scalars") code stays at tier
    /// 0 and a loop is compiled optimized, on the stack, only after about 1,000 turns in one
    /// call. Passes over a 1,000-bin histogram in functions of their own never got there: a
    /// 300-iteration fit took 30-40 ms (numpy's 21 ms), twice per CoSA step; written out, 10 ms.
    let private expectationMaximisation (options: EmOptions) (maxIterations: int) (values: float[]) (weights: float[]) (total: float) (bg0: GaussianComponent) (fg0: GaussianComponent) =
        let n = values.Length
        let respBg = Array.zeroCreate<float> n
        let mutable bgWeight, bgMean, bgVariance = bg0.Weight, bg0.Mean, bg0.Variance
        let mutable fgWeight, fgMean, fgVariance = fg0.Weight, fg0.Mean, fg0.Variance
        let mutable ll = 0.0
        let mutable iterations = 0
        let mutable converged = false
        let mutable first = true
        let mutable go = true
        while go do
            if not first then
                // M pass (both components in one sweep; each sum accumulates in sample order)
                let mutable bgNk, bgSx, fgNk, fgSx = 0.0, 0.0, 0.0, 0.0
                for i in 0 .. n - 1 do
                    let rb = weights.[i] * respBg.[i]
                    let rf = weights.[i] * (1.0 - respBg.[i])
                    bgNk <- bgNk + rb
                    bgSx <- bgSx + rb * values.[i]
                    fgNk <- fgNk + rf
                    fgSx <- fgSx + rf * values.[i]
                let bgMu, fgMu = bgSx / bgNk, fgSx / fgNk
                let mutable bgSxx, fgSxx = 0.0, 0.0
                for i in 0 .. n - 1 do
                    let db = values.[i] - bgMu
                    let df = values.[i] - fgMu
                    bgSxx <- bgSxx + weights.[i] * respBg.[i] * db * db
                    fgSxx <- fgSxx + weights.[i] * (1.0 - respBg.[i]) * df * df
                let floorVar v = max options.MinVariance v
                let bgW = if bgNk <= 1e-12 * total then 1e-12 else bgNk / total
                let fgW = if fgNk <= 1e-12 * total then 1e-12 else fgNk / total
                if bgNk > 1e-12 * total then
                    bgMean <- bgMu
                    bgVariance <- floorVar (bgSxx / bgNk)
                if fgNk > 1e-12 * total then
                    fgMean <- fgMu
                    fgVariance <- floorVar (fgSxx / fgNk)
                let s = bgW + fgW
                bgWeight <- bgW / s
                fgWeight <- fgW / s
                iterations <- iterations + 1
            // E pass
            let bgLogWeight, bgLogNorm = log bgWeight, log (2.0 * Math.PI * bgVariance)
            let fgLogWeight, fgLogNorm = log fgWeight, log (2.0 * Math.PI * fgVariance)
            let mutable ll' = 0.0
            for i in 0 .. n - 1 do
                let x = values.[i]
                let db = x - bgMean
                let a = bgLogWeight - 0.5 * (bgLogNorm + db * db / bgVariance)
                let df = x - fgMean
                let b = fgLogWeight - 0.5 * (fgLogNorm + df * df / fgVariance)
                let hi = max a b
                let lse = hi + log (exp (a - hi) + exp (b - hi))
                respBg.[i] <- exp (a - lse)
                ll' <- ll' + weights.[i] * lse
            if not first && abs (ll' - ll) <= options.Tolerance * total then converged <- true
            ll <- ll'
            first <- false
            go <- not converged && iterations < maxIterations
        { Weight = bgWeight; Mean = bgMean; Variance = bgVariance },
        { Weight = fgWeight; Mean = fgMean; Variance = fgVariance },
        ll, iterations, converged

    /// Fits the mixture to weighted samples. Deterministic: the means start at the weighted
    /// 25% and 75% quantiles (min and max when those coincide), both variances at a quarter of
    /// the data variance, equal weights. Constant data gives two identical components at that
    /// value (split = the value). Fails with a clear message on empty or non-finite data.
    let fitWeighted (options: EmOptions) (values: float[]) (weights: float[]) : Mixture2 =
        validate values weights
        // zero-weight samples (empty histogram bins) do not change the fit: drop them
        let values, weights =
            if Array.forall (fun w -> w > 0.0) weights then values, weights
            else
                let keep = Array.zip values weights |> Array.filter (fun (_, w) -> w > 0.0)
                Array.map fst keep, Array.map snd keep
        let floorVar v = max options.MinVariance v
        let total = Array.sum weights
        let mean = (Array.fold2 (fun acc x w -> acc + w * x) 0.0 values weights) / total
        let variance =
            (Array.fold2 (fun acc x w -> acc + w * (x - mean) * (x - mean)) 0.0 values weights) / total
        let sorted = Array.zip values weights |> Array.sortBy fst
        let lo0, hi0 =
            let q1 = quantile sorted total 0.25
            let q3 = quantile sorted total 0.75
            if q3 > q1 then q1, q3 else fst sorted.[0], fst sorted.[sorted.Length - 1]
        let init v mu = { Weight = 0.5; Mean = mu; Variance = floorVar v }
        if not (hi0 > lo0) then
            // constant data: both components sit on the single value
            let g = { Weight = 0.5; Mean = lo0; Variance = options.MinVariance }
            let _, _, ll, _, _ = expectationMaximisation options 0 values weights total g g
            { Background = g
              Foreground = g
              LogLikelihood = ll
              Iterations = 0
              Converged = true }
        else
            let bg, fg, ll, iterations, converged =
                expectationMaximisation options options.MaxIterations values weights total (init (variance / 4.0) lo0) (init (variance / 4.0) hi0)
            let b, f = ordered bg fg
            { Background = b
              Foreground = f
              LogLikelihood = ll
              Iterations = iterations
              Converged = converged }

    /// Fits the mixture to unweighted samples (every weight 1).
    let fit (options: EmOptions) (values: float[]) : Mixture2 =
        fitWeighted options values (Array.create values.Length 1.0)

    /// The sample form of CoSA Eq. 6 in logs: the log-likelihood of the data when every value
    /// >= xi is explained by the foreground component and every value < xi by the background
    /// one, sum_{x_i >= xi} w_i log(pi_fg N_fg(x_i)) + sum_{x_i < xi} w_i log(pi_bg N_bg(x_i)).
    let splitLogLikelihood (m: Mixture2) (values: float[]) (weights: float[]) (xi: float) : float =
        let mutable acc = 0.0
        for i in 0 .. values.Length - 1 do
            if weights.[i] > 0.0 then
                let g = if values.[i] >= xi then m.Foreground else m.Background
                acc <- acc + weights.[i] * logWeightedDensity g values.[i]
        acc

    /// CoSA's dynamic threshold xi* (Eq. 6). The paper takes xi* = argmax over xi of the
    /// likelihood of the data when values >= xi are explained by the (weighted) foreground
    /// Gaussian and values < xi by the background one (`splitLogLikelihood`). We search xi in
    /// [mu_bg, mu_fg], which makes the argmax unique and well defined:
    ///
    /// on that interval r(x) = log(pi_fg N_fg(x)) - log(pi_bg N_bg(x)) is non-decreasing
    /// (r'(x) = (mu_fg - x)/s_fg^2 + (x - mu_bg)/s_bg^2 >= 0 there), so it changes sign at most
    /// once. xi* is that sign change: the point between the means where the weighted
    /// component densities cross; mu_bg if the foreground density already dominates at mu_bg;
    /// mu_fg if the background density still dominates at mu_fg; the common mean if the means
    /// coincide. Values below mu_bg (above mu_fg) are assigned to the background (foreground)
    /// by every xi in the interval, and each value inside is assigned by xi* to the component
    /// with the larger weighted density, so xi* maximises the sample objective over the
    /// interval for any data. It is also the Bayes decision boundary of the fitted mixture.
    /// The crossing is located by bisection to machine precision.
    let split (m: Mixture2) : float =
        let lo = m.Background.Mean
        let hi = m.Foreground.Mean
        if not (hi > lo) then lo
        elif logRatio m lo >= 0.0 then lo
        elif logRatio m hi <= 0.0 then hi
        else
            // invariant: r(a) < 0 <= r(b)
            let mutable a = lo
            let mutable b = hi
            let mutable go = true
            while go do
                let mid = 0.5 * (a + b)
                if mid <= a || mid >= b then go <- false
                elif logRatio m mid >= 0.0 then b <- mid
                else a <- mid
            b
