namespace Hybrid.Wsss.Schedules

/// A parameter group of the optimizer and its learning-rate multiplier.
type LrGroup = { Name: string; Multiplier: float }

/// Per-group learning rates: every group follows the base schedule times its multiplier.
module LrGroups =
    /// A group; multiplier > 0.
    let group (name: string) (multiplier: float) : LrGroup =
        if not (multiplier > 0.0) then
            invalidArg (nameof multiplier) (sprintf "Group '%s' needs a learning-rate multiplier > 0, got %g." name multiplier)
        { Name = name; Multiplier = multiplier }

    /// Pretrained backbone x1, newly initialised layers x10 (PLDA's recipe; CoSA's heads).
    let backboneAndNewLayers: LrGroup list = [ group "backbone" 1.0; group "new layers" 10.0 ]

    /// The schedule of one group.
    let schedule (baseSchedule: Schedule) (g: LrGroup) : Schedule = Schedule.scale g.Multiplier baseSchedule

    /// Every group's learning rate at a clock, in group order.
    let rates (baseSchedule: Schedule) (groups: LrGroup list) (clock: Clock) : (LrGroup * float) list =
        let value = baseSchedule clock
        groups |> List.map (fun g -> g, g.Multiplier * value)
