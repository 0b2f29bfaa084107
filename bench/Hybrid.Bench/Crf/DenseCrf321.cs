namespace Hybrid.Bench.Crf;

/// <summary>Dense CRF on a 321 x 321 scene (the VOC crop of PSA / AuxSegNet+), 21 classes, PSA parameters: see <see cref="CrfScene"/>.</summary>
public sealed class DenseCrf321 : IBenchmark
{
    public string Name => "crf-321";
    public string Description => "ms per dense CRF (build + mean-field inference) of a 321 x 321 image, 21 classes";
    public BenchResult Run(BenchOptions o) => CrfScene.Run(Name, 321, o);
}
