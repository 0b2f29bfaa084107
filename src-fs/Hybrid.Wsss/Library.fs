namespace Hybrid.Wsss
