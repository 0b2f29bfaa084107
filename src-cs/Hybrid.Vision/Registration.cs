using TorchSharp.Modules;

namespace Hybrid.Vision;

/// <summary>
/// Explicit registration under PyTorch's names. Every module of this assembly registers its
/// children, parameters and buffers by name in its constructor (the state-dict keys checkpoints
/// use) and turns TorchSharp's field reflection (RegisterComponents, which runs when a module
/// becomes a child) off, so field and property names never leak into a state dict.
/// Fields that hold a parameter or buffer carry its registered name: Module.to(dtype / device)
/// replaces them by that name.
/// </summary>
internal static class Registration
{
    /// <summary>Registers <paramref name="child"/> as <paramref name="name"/> and returns it.</summary>
    public static T Child<T>(this nn.Module owner, string name, T child) where T : nn.Module
    {
        owner.register_module(name, child);
        return child;
    }

    /// <summary>A new parameter from <paramref name="data"/> (consumed: TorchSharp moves its
    /// handle), outside every dispose scope, registered as <paramref name="name"/>.</summary>
    public static Parameter NewParameter(this nn.Module owner, string name, Tensor data, bool requiresGrad = true)
    {
        var p = new Parameter(data.DetachFromDisposeScope(), requiresGrad);
        owner.register_parameter(name, p);
        return p;
    }
}
