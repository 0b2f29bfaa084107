namespace Hybrid.Wsss.Schedules

open System

/// Momentum schedules for an EMA teacher, teacher <- m teacher + (1 - m) student.
module EmaMomentum =
    let private check (m: float) =
        if not (m >= 0.0 && m <= 1.0) then invalidArg (nameof m) (sprintf "EMA momentum must lie in [0, 1], got %g." m)

    /// CoSA's assignment network: m = 0.9994 throughout.
    let cosa: Schedule = Schedule.constant 0.9994

    /// A constant momentum.
    let constant (m: float) : Schedule =
        check m
        Schedule.constant m

    /// Cosine increase from `start` at step 0 to `finish` at the end (BYOL's schedule):
    /// finish - (finish - start) (1 + cos(pi p)) / 2. Non-decreasing for start <= finish.
    let cosineIncrease (start: float) (finish: float) : Schedule =
        check start
        check finish
        fun c -> finish - (finish - start) * 0.5 * (1.0 + cos (Math.PI * Clock.progress c))
