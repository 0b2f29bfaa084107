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

    /// The momentum whose horizon 1 / (1 - m) is the fraction f of the run: m = 1 - 1 / (f T)
    /// for a run of T steps (0 when f T <= 1: the teacher then copies the student). Keeps the
    /// teacher's memory the same share of training when a recipe is run at another length.
    let horizonFraction (f: float) : Schedule =
        if not (f > 0.0 && f <= 1.0) then invalidArg (nameof f) (sprintf "an EMA horizon fraction must lie in (0, 1], got %g." f)
        fun c -> max 0.0 (1.0 - 1.0 / (f * float c.Total))

    /// Cosine increase from `start` at step 0 to `finish` at the end (BYOL's schedule):
    /// finish - (finish - start) (1 + cos(pi p)) / 2. Non-decreasing for start <= finish.
    let cosineIncrease (start: float) (finish: float) : Schedule =
        check start
        check finish
        fun c -> finish - (finish - start) * 0.5 * (1.0 + cos (Math.PI * Clock.progress c))
