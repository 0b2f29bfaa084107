namespace Hybrid.Wsss.Schedules

open System

/// Loss-weight ramps and gates as modifiers, to shape a loss weight with
/// `Schedule.build weight (gateFrom 2000)` or combine with other modifiers via `>>`.
module Ramps =
    /// 0 before `step`, 1 from `step` on: a loss switched on after a warm-up (CoSA's guidance,
    /// "GC", starts after 2k iterations in the paper).
    let gateFrom (step: int) : Modifier = Schedule.ofFactor (fun c -> if c.Step >= step then 1.0 else 0.0)

    /// 1 before `step`, 0 from `step` on.
    let gateUntil (step: int) : Modifier = Schedule.ofFactor (fun c -> if c.Step < step then 1.0 else 0.0)

    /// 0 up to `startStep`, rising linearly to 1 at `endStep`, then 1. Non-decreasing.
    let linearRamp (startStep: int) (endStep: int) : Modifier =
        if endStep <= startStep then
            invalidArg (nameof endStep) (sprintf "A linear ramp needs endStep > startStep, got %d <= %d." endStep startStep)
        Schedule.ofFactor (fun c ->
            if c.Step <= startStep then 0.0
            elif c.Step >= endStep then 1.0
            else float (c.Step - startStep) / float (endStep - startStep))

    /// exp(-5 (1 - t / steps)^2) up to `steps`, then 1 (the sigmoid-shaped ramp-up of Laine and
    /// Aila, "Temporal ensembling", ICLR 2017). Non-decreasing.
    let sigmoidRamp (steps: int) : Modifier =
        if steps < 1 then invalidArg (nameof steps) (sprintf "A sigmoid ramp needs steps >= 1, got %d." steps)
        Schedule.ofFactor (fun c ->
            if c.Step >= steps then 1.0
            else
                let r = 1.0 - float c.Step / float steps
                exp (-5.0 * r * r))

    /// DANN's adaptation coefficient 2 / (1 + exp(-gamma p)) - 1 with p the training progress
    /// (Ganin and Lempitsky 2015, gamma = 10; PLDA's GRL follows it). Rises from 0 towards 1.
    let dannWith (gamma: float) : Modifier =
        if not (gamma > 0.0) then invalidArg (nameof gamma) (sprintf "DANN gamma must be > 0, got %g." gamma)
        Schedule.ofFactor (fun c -> 2.0 / (1.0 + exp (-gamma * Clock.progress c)) - 1.0)

    /// DANN's coefficient with gamma = 10.
    let dann: Modifier = dannWith 10.0

    /// The DANN coefficient itself as a schedule (0 at the start, 0.9999 at the end).
    let dannCoefficient: Schedule = Schedule.build 1.0 dann
