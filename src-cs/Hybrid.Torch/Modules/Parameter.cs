namespace Hybrid.Torch.Modules;

/// <summary>A learnable tensor: a leaf that requires grad and belongs to no dispose scope
/// (its module disposes it).</summary>
public sealed class Parameter : Tensor
{
    /// <summary>Shares `data`'s storage as a new autograd leaf.</summary>
    public Parameter(Tensor data, bool requires_grad = true) : base(Detached(data))
    {
        DetachFromDisposeScope();
        this.requires_grad = requires_grad;
    }

    private static IntPtr Detached(Tensor data)
    {
        var p = Native.hy_detach(data.Handle);
        return p == IntPtr.Zero ? throw TorchException.FromNative("Parameter") : p;
    }
}
