using System.Runtime.CompilerServices;

// The CRF tests check the permutohedral filter itself (symmetry, agreement with exact sums).
[assembly: InternalsVisibleTo("Hybrid.Vision.Tests")]
