namespace Hybrid.Wsss.Methods.Cosa

open TorchSharp
open Hybrid.Vision

/// CoSA's two streams (Sec. 3.2): the online network ON, trained by the optimizer, and the
/// assignment network AN, another instance of the same architecture that only follows ON by
/// AN <- m AN + (1 - m) ON over parameters and buffers (the C# EMA teacher). Both are children
/// of this module, so a checkpoint holds both. The AN never requires gradients and always
/// runs in eval mode (its BatchNorm layers use their EMA'd running statistics), whatever mode
/// the model is put in.
type CosaModel(online: CosaNetwork, assignment: CosaNetwork) as this =
    inherit torch.nn.Module("CosaModel")
    // registered first so the teacher's parameters are frozen and copied from ON right away
    let ema = new EmaTeacher<CosaNetwork>(assignment, online)
    do
        this.register_module("online", online)
        this.register_module("assignment", assignment)
        assignment.eval ()

    /// Children are registered by name above; no field reflection.
    override _.RegisterComponents() = ()

    member _.Online = online
    member _.Assignment = assignment

    /// Number of EMA updates so far.
    member _.Updates = ema.Updates

    /// AN <- m AN + (1 - m) ON.
    member _.UpdateAssignment(momentum: float) = ema.Update(online, momentum)

    override _.train(mode: bool) =
        base.train mode
        assignment.eval ()
