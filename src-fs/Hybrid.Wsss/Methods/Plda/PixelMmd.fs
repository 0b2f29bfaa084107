namespace Hybrid.Wsss.Methods.Plda

open TorchSharp
open Hybrid.Wsss

/// Pixel-level maximum mean discrepancy (the MMD row of PLDA's Tab. VII): the squared MMD
/// between the features of source and target pixels under a sum of Gaussian kernels
/// k(x, y) = sum_i exp(-|x - y|^2 / (base * m^(i - n/2))), base = the mean squared distance
/// of the pooled samples (the multi-kernel bandwidth heuristic of DAN, Long et al. 2015).
/// Biased (V-statistic) estimate: MMD^2 = mean k(S, S) + mean k(T, T) - 2 mean k(S, T) >= 0.
module PixelMmd =
    /// Squared MMD of two samples x (N, D) and y (M, D), N, M >= 1.
    let between (kernels: int) (multiplier: float) (x: Tensor) (y: Tensor) : Tensor =
        if x.dim () <> 2 || y.dim () <> 2 || x.size 1 <> y.size 1 then
            invalidArg (nameof y) (sprintf "MMD needs samples (N, D) and (M, D), got [%s] and [%s]" (x.shape |> Array.map string |> String.concat ", ") (y.shape |> Array.map string |> String.concat ", "))
        if x.size 0 < 1L || y.size 0 < 1L then invalidArg (nameof x) "MMD needs at least one sample per domain"
        use scope = torch.NewDisposeScope()
        let n, m = x.size 0, y.size 0
        let z = torch.cat ([| x; y |], 0L)                                // (N + M, D)
        let sq = z.square().sum (1L, keepdim = true)                      // (N + M, 1)
        let d2 = (sq + sq.t () - 2.0 * z.matmul (z.t ())).clamp_min 0.0  // (N + M, N + M)
        let total = float (n + m)
        let baseBw =
            use _ng = torch.no_grad ()
            (d2.detach().sum () / (total * total - total) |> Host.item<float>) |> max 1e-8
        let mutable k = torch.zeros_like d2
        for i in 0 .. kernels - 1 do
            let bw = baseBw * (multiplier ** (float i - float (kernels / 2)))
            k <- k + (d2 / (-bw)).exp ()                                  // (N + M, N + M)
        let kxx = k.narrow(0L, 0L, n).narrow (1L, 0L, n)                  // (N, N)
        let kyy = k.narrow(0L, n, m).narrow (1L, n, m)                    // (M, M)
        let kxy = k.narrow(0L, 0L, n).narrow (1L, n, m)                   // (N, M)
        (kxx.mean () + kyy.mean () - 2.0 * kxy.mean ()).MoveToOuterDisposeScope()

    /// The pixel features under a mask: features (B, D, h, w), mask (B, h, w) bool -> (N, D).
    let gather (features: Tensor) (mask: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let d = features.size 1
        let flat = features.permute(0L, 2L, 3L, 1L).reshape (-1L, d)      // (B h w, D)
        let idx = mask.reshape(-1L).nonzero().squeeze 1L                  // (N)
        (flat.index_select (0L, idx)).MoveToOuterDisposeScope()           // (N, D)

    /// At most `samples` rows of x (N, D), drawn without replacement from torch's generator.
    let subsample (samples: int) (x: Tensor) : Tensor =
        if x.size 0 <= int64 samples then x.alias ()
        else
            use perm = torch.randperm (x.size 0, device = x.device)
            use idx = perm.narrow (0L, 0L, int64 samples)
            x.index_select (0L, idx)

    /// The MMD alignment loss of a batch: source and target pixel features pooled over the
    /// batch, subsampled to `samples` each; 0 (with the graph kept) when a domain is empty.
    let loss (kernels: int) (multiplier: float) (samples: int) (features: Tensor) (source: Tensor) (target: Tensor) : Tensor =
        use scope = torch.NewDisposeScope()
        let xs = gather features source |> subsample samples              // (N, D)
        let xt = gather features target |> subsample samples              // (M, D)
        let l = if xs.size 0 = 0L || xt.size 0 = 0L then features.sum () * 0.0 else between kernels multiplier xs xt
        l.MoveToOuterDisposeScope()
