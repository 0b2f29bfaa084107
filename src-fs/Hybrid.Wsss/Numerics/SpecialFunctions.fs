/// Special functions needed by the statistics in Eval: log-gamma, the regularised incomplete
/// beta function and the Student-t distribution built on it. Written from the defining series
/// and continued fraction (DLMF 5.11.1 and 8.17.22); no external numerics library.
module Hybrid.Wsss.Numerics.SpecialFunctions

open System

/// ln Gamma(x) for x > 0. The recurrence ln G(x) = ln G(x+1) - ln x lifts the argument to
/// z >= 15, where Stirling's series (DLMF 5.11.1, Bernoulli terms up to B12) is accurate to
/// about 1e-15 relative.
let logGamma (x: float) : float =
    if Double.IsNaN x || x <= 0.0 || Double.IsPositiveInfinity x then
        invalidArg (nameof x) (sprintf "logGamma needs a finite x > 0, got %g." x)
    let mutable z = x
    let mutable shift = 0.0
    while z < 15.0 do
        shift <- shift + log z
        z <- z + 1.0
    let inv = 1.0 / z
    let inv2 = inv * inv
    // B_2k / (2k (2k-1) z^(2k-1)) for k = 1..6
    let series =
        inv
        * (1.0 / 12.0
           + inv2
             * (-1.0 / 360.0
                + inv2 * (1.0 / 1260.0 + inv2 * (-1.0 / 1680.0 + inv2 * (1.0 / 1188.0 + inv2 * (-691.0 / 360360.0))))))
    (z - 0.5) * log z - z + 0.5 * log (2.0 * Math.PI) + series - shift

/// ln B(a, b) = ln G(a) + ln G(b) - ln G(a + b).
let logBeta (a: float) (b: float) : float = logGamma a + logGamma b - logGamma (a + b)

/// The continued fraction of DLMF 8.17.22, 1 / (1 + d1 / (1 + d2 / (1 + ...))), evaluated with
/// the modified Lentz method. Converges quickly for x < (a + 1) / (a + b + 2).
let private betaContinuedFraction (a: float) (b: float) (x: float) : float =
    let tiny = 1e-300
    let clampTiny v = if abs v < tiny then (if v < 0.0 then -tiny else tiny) else v
    // d_n for n >= 1 (DLMF 8.17.23)
    let d (n: int) =
        if n % 2 = 1 then
            let k = float (n / 2)
            -(a + k) * (a + b + k) * x / ((a + 2.0 * k) * (a + 2.0 * k + 1.0))
        else
            let k = float (n / 2)
            k * (b - k) * x / ((a + 2.0 * k - 1.0) * (a + 2.0 * k))
    // fraction a1/(b1 + a2/(b2 + ...)) with a1 = 1, a_{j+1} = d_j, all b_j = 1
    let mutable f = tiny
    let mutable c = tiny
    let mutable dd = 0.0
    let mutable j = 1
    let mutable converged = false
    while not converged && j <= 20000 do
        let aj = if j = 1 then 1.0 else d (j - 1)
        dd <- 1.0 / clampTiny (1.0 + aj * dd)
        c <- clampTiny (1.0 + aj / c)
        let delta = c * dd
        f <- f * delta
        if abs (delta - 1.0) < 1e-16 then converged <- true
        j <- j + 1
    if not converged then
        failwithf "Incomplete beta continued fraction did not converge for a=%g b=%g x=%g." a b x
    f

/// The regularised incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), a, b > 0,
/// 0 <= x <= 1. Uses the continued fraction where it converges fast and the symmetry
/// I_x(a, b) = 1 - I_(1-x)(b, a) elsewhere.
let regularizedIncompleteBeta (a: float) (b: float) (x: float) : float =
    if not (a > 0.0) || not (b > 0.0) || Double.IsInfinity a || Double.IsInfinity b then
        invalidArg (nameof a) (sprintf "Incomplete beta needs finite a, b > 0, got a=%g b=%g." a b)
    if Double.IsNaN x || x < 0.0 || x > 1.0 then
        invalidArg (nameof x) (sprintf "Incomplete beta needs 0 <= x <= 1, got %g." x)
    if x = 0.0 then 0.0
    elif x = 1.0 then 1.0
    else
        // x^a (1-x)^b / B(a, b), symmetric under (a, b, x) <-> (b, a, 1 - x)
        let front = exp (a * log x + b * log (1.0 - x) - logBeta a b)
        if x < (a + 1.0) / (a + b + 2.0) then
            front * betaContinuedFraction a b x / a
        else
            1.0 - front * betaContinuedFraction b a (1.0 - x) / b

/// Two-sided tail probability P(|T| >= |t|) of Student's t with df > 0 degrees of freedom:
/// I_(df / (df + t^2))(df / 2, 1 / 2).
let studentTTwoSided (df: float) (t: float) : float =
    if not (df > 0.0) then invalidArg (nameof df) (sprintf "Student t needs df > 0, got %g." df)
    if Double.IsNaN t then invalidArg (nameof t) "Student t statistic is NaN."
    if Double.IsInfinity t then 0.0
    else regularizedIncompleteBeta (df / 2.0) 0.5 (df / (df + t * t))

/// Cumulative distribution function P(T <= t) of Student's t with df > 0 degrees of freedom.
let studentTCdf (df: float) (t: float) : float =
    if Double.IsPositiveInfinity t then 1.0
    elif Double.IsNegativeInfinity t then 0.0
    else
        let tail = 0.5 * studentTTwoSided df t // P(T > |t|)
        if t >= 0.0 then 1.0 - tail else tail
