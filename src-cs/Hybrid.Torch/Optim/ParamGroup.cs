using TorchSharp.Modules;

namespace Hybrid.Torch.Optim;

/// <summary>Parameters that share hyperparameters. `lr_mult` keeps "x10 for new layers" a property
/// of the group (the papers' recipes); `weight_decay` overrides the optimizer's when set.</summary>
public sealed class ParamGroup
{
    public ParamGroup(IEnumerable<Parameter> parameters, double lr_mult = 1.0, double? weight_decay = null, string name = "")
    {
        this.parameters = parameters.ToList();
        this.lr_mult = lr_mult;
        this.weight_decay = weight_decay;
        this.name = name;
    }

    public IReadOnlyList<Parameter> parameters { get; }
    public string name { get; }
    public double lr_mult { get; }
    public double? weight_decay { get; }
}
