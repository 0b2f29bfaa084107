namespace Hybrid.Bench.Crf;

/// <summary>Dense CRF on a 96 x 96 scene (FMNIST-Scenes' size), 21 classes, PSA parameters: see <see cref="CrfScene"/>.</summary>
public sealed class DenseCrf96 : IBenchmark
{
    public string Name => "crf-96";
    public string Description => "ms per dense CRF (build + mean-field inference) of a 96 x 96 image, 21 classes";
    public BenchResult Run(BenchOptions o) => CrfScene.Run(Name, 96, o);
}
