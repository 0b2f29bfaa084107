namespace Hybrid.Wsss.Schedules

open System

/// Where training stands: the current step (0-based) and the planned number of steps.
[<Struct>]
type Clock = { Step: int; Total: int }

module Clock =
    /// A clock at `step` of `total` steps (step >= 0, total >= 1).
    let at (step: int) (total: int) : Clock =
        if total < 1 then invalidArg (nameof total) (sprintf "A schedule clock needs total >= 1 steps, got %d." total)
        if step < 0 then invalidArg (nameof step) (sprintf "A schedule clock needs step >= 0, got %d." step)
        { Step = step; Total = total }

    /// Training progress p = step / total, clamped to [0, 1].
    let progress (c: Clock) : float = min 1.0 (float c.Step / float c.Total)

/// A value as a pure function of the training clock: learning rate, loss weight, momentum.
type Schedule = Clock -> float

/// A schedule transformer. Modifiers multiply their input schedule by a factor of the clock,
/// so they compose with F#'s `>>` and the composition reads left to right:
/// `Schedule.build 6e-5 (warmup 1500 >> poly 0.9)` is a 6e-5 learning rate with linear warm-up
/// over 1500 steps and polynomial decay (power 0.9). Being multiplicative, modifiers also
/// commute: `warmup n >> poly p` and `poly p >> warmup n` give the same values.
type Modifier = Schedule -> Schedule

/// Schedules and the standard learning-rate shapes as modifiers.
module Schedule =
    /// The same value at every step.
    let constant (value: float) : Schedule = fun _ -> value

    /// A base value shaped by a (composed) modifier.
    let build (baseValue: float) (shape: Modifier) : Schedule = shape (constant baseValue)

    /// The value of a schedule at a step of a run of `total` steps.
    let valueAt (step: int) (total: int) (s: Schedule) : float = s (Clock.at step total)

    /// Values at steps 0 .. total - 1.
    let sample (total: int) (s: Schedule) : float[] = Array.init total (fun t -> valueAt t total s)

    /// The modifier multiplying by a factor of the clock.
    let ofFactor (factor: Clock -> float) : Modifier = fun s c -> factor c * s c

    /// Multiplies by a constant, e.g. a parameter group's learning-rate multiplier.
    let scale (k: float) : Modifier = ofFactor (fun _ -> k)

    /// Linear warm-up over `steps` steps from `ratio` of the value at step 0 to the full value at
    /// step `steps` and after; no change for steps = 0. Non-decreasing factor.
    let warmupFrom (ratio: float) (steps: int) : Modifier =
        if steps < 0 then invalidArg (nameof steps) (sprintf "Warm-up needs steps >= 0, got %d." steps)
        if not (ratio >= 0.0 && ratio <= 1.0) then
            invalidArg (nameof ratio) (sprintf "Warm-up start ratio must lie in [0, 1], got %g." ratio)
        ofFactor (fun c ->
            if c.Step >= steps then 1.0
            else ratio + (1.0 - ratio) * float c.Step / float steps)

    /// Linear warm-up from 1e-6 of the value (the warm-up ratio of CoSA's and ToCo's
    /// published configs, which warm up for 1500 iterations).
    let warmup (steps: int) : Modifier = warmupFrom 1e-6 steps

    /// Polynomial decay (1 - p)^power with p the clamped progress: 1 at step 0, 0 at the end.
    /// Non-increasing.
    let poly (power: float) : Modifier =
        if not (power > 0.0) then invalidArg (nameof power) (sprintf "Poly decay needs power > 0, got %g." power)
        ofFactor (fun c -> Math.Pow(1.0 - Clock.progress c, power))

    /// Cosine decay from 1 at step 0 to `floor` at the end. Non-increasing.
    let cosineTo (floor: float) : Modifier =
        if not (floor >= 0.0 && floor <= 1.0) then
            invalidArg (nameof floor) (sprintf "Cosine floor must lie in [0, 1], got %g." floor)
        ofFactor (fun c -> floor + (1.0 - floor) * 0.5 * (1.0 + cos (Math.PI * Clock.progress c)))

    /// Cosine decay from 1 to 0.
    let cosine: Modifier = cosineTo 0.0

    /// Step decay: multiplied by gamma every `every` steps. Non-increasing for gamma <= 1.
    let stepDecay (every: int) (gamma: float) : Modifier =
        if every < 1 then invalidArg (nameof every) (sprintf "Step decay needs every >= 1, got %d." every)
        if not (gamma > 0.0) then invalidArg (nameof gamma) (sprintf "Step decay needs gamma > 0, got %g." gamma)
        ofFactor (fun c -> Math.Pow(gamma, float (c.Step / every)))

    /// Multiplied by gamma at each milestone step reached.
    let multiStep (milestones: int list) (gamma: float) : Modifier =
        if not (gamma > 0.0) then invalidArg (nameof gamma) (sprintf "Multi-step decay needs gamma > 0, got %g." gamma)
        ofFactor (fun c -> Math.Pow(gamma, float (milestones |> List.filter (fun m -> c.Step >= m) |> List.length)))

    /// The modifier that changes nothing (unit of `>>`).
    let identity: Modifier = id
