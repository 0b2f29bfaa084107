/// Contrastive separation in CAMs (CoSA Eq. 9-10): on the low-perplexity region Omega of the
/// assignment network's low-level CAM M-dagger', pixels of the same CPL class (of M-dagger')
/// are positives and pixels of other classes negatives; the online CAM vectors M at those
/// pixels are pulled together or pushed apart by an InfoNCE with cosine similarity l_d.
module Hybrid.Wsss.Methods.Cosa.Separation

open System
open TorchSharp
open Hybrid.Wsss

type private F = torch.nn.functional

/// Eq. 10 as printed. embeddings (N, D), labels (N) int64. For anchor i with positives R+
/// (same label, not i) and negatives R- (other labels):
/// loss_i = -1/|R+| sum_{p in R+} log( L_ip / (L_ip + sum_{n in R-} L_in) ), L = exp(cos / tau);
/// averaged over the anchors that have a positive (0 when none has). An anchor without
/// negatives contributes 0 (L / L).
let positivePairs (temperature: float) (embeddings: Tensor) (labels: Tensor) : Tensor =
    if not (temperature > 0.0) then invalidArg (nameof temperature) (sprintf "the InfoNCE temperature must be > 0, got %g" temperature)
    use scope = torch.NewDisposeScope()
    let n = embeddings.size 0
    let z = F.normalize(embeddings, dim = 1L)                       // (N, D)
    let sim = z.matmul(z.t()) / temperature                         // (N, N)
    let self = torch.eye(n, dtype = ScalarType.Bool, device = embeddings.device)
    let same = labels.unsqueeze(1L).eq(labels.unsqueeze(0L))        // (N, N)
    let positive = same.logical_and(self.logical_not())
    let negative = same.logical_not()
    // log sum_{n in R-} exp(s_in), -1e9 (exp = 0) for anchors without negatives
    let negLse = sim.masked_fill(negative.logical_not(), -1e9).logsumexp(1L, keepdim = true) // (N, 1)
    // log(exp(s_ip) + exp(negLse)) without overflow
    let hi = torch.maximum(sim, negLse.expand_as(sim))
    let denominator = hi + ((sim - hi).exp() + (negLse - hi).exp()).log() // (N, N)
    let logRatio = sim - denominator                                 // log(L_ip / (L_ip + K_i))
    let posF = positive.to_type(ScalarType.Float32)
    let posCount = posF.sum(1L)                                      // (N)
    let hasPos = posCount.gt(0.0).to_type(ScalarType.Float32)
    let perAnchor = -(logRatio * posF).sum(1L) / posCount.clamp_min(1.0)
    ((perAnchor * hasPos).sum() / hasPos.sum().clamp_min(1.0)).MoveToOuterDisposeScope()

/// The loss of a form on sampled embeddings (N, D) and labels (N).
let lossOf (form: SeparationForm) (temperature: float) (embeddings: Tensor) (labels: Tensor) : Tensor =
    match form with
    | PositivePairs -> positivePairs temperature embeddings labels
    | SupervisedInfoNce -> Losses.infoNce temperature embeddings labels

/// Anchor indices into a flattened region: at most `budget` in total, spread evenly over the
/// classes present (each class gets budget / classes, the unused share of small classes is not
/// redistributed), drawn without replacement by torch's generator (seeded by the run).
/// labels: the label of every candidate, in candidate order. Returns candidate positions.
let sample (budget: int) (labels: int64[]) : int64[] =
    if budget < 2 then invalidArg (nameof budget) (sprintf "the contrastive budget must be >= 2 pixels, got %d" budget)
    if labels.Length <= budget then Array.init labels.Length int64
    else
        let groups = labels |> Array.mapi (fun i l -> l, int64 i) |> Array.groupBy fst |> Array.sortBy fst
        let quota = max 1 (budget / groups.Length)
        [| for _, members in groups do
               let idx = Array.map snd members
               if idx.Length <= quota then yield! idx
               else
                   use perm = torch.randperm(int64 idx.Length)
                   let order = Host.values<int64> perm
                   for j in 0 .. quota - 1 do
                       yield idx.[int order.[j]] |]

/// Eq. 9-10 on feature maps. cams (B, K, h, w): the online network's CAM scores (carrying the
/// gradient); cpl (B, h, w) int64: the CPL of M-dagger'; region (B, h, w) bool: P <= epsilon
/// of M-dagger'. Pixels of the region (across the batch) are the candidates; at most `budget`
/// are used. Zero (with the graph kept) when fewer than two classes are in the region, as no
/// anchor then has a negative and Eq. 10 is 0.
let loss (form: SeparationForm) (temperature: float) (budget: int) (cams: Tensor) (cpl: Tensor) (region: Tensor) : Tensor =
    let b, k, h, w = cams.size 0, cams.size 1, cams.size 2, cams.size 3
    if cpl.shape <> [| b; h; w |] || region.shape <> [| b; h; w |] then
        invalidArg (nameof cpl) (sprintf "CSC needs cams (B, K, h, w) with cpl and region (B, h, w): got [%s], [%s], [%s]" (String.Join(", ", cams.shape)) (String.Join(", ", cpl.shape)) (String.Join(", ", region.shape)))
    use scope = torch.NewDisposeScope()
    let flatCams = cams.permute(0L, 2L, 3L, 1L).reshape(b * h * w, k) // (BhW, K)
    let flatLabels = cpl.reshape(b * h * w)                          // (BhW)
    let candidates = region.reshape(b * h * w).nonzero().reshape(-1L) // (M)
    let candidateLabels = Host.values<int64> (flatLabels.index_select(0L, candidates))
    let distinct = candidateLabels |> Array.distinct |> Array.length
    if distinct < 2 then
        (cams.sum() * 0.0).MoveToOuterDisposeScope()
    else
        let chosen = sample budget candidateLabels
        let pick = candidates.index_select(0L, torch.tensor(chosen, device = cams.device)) // (N)
        let emb = flatCams.index_select(0L, pick)                    // (N, K)
        let lbl = flatLabels.index_select(0L, pick)                  // (N)
        (lossOf form temperature emb lbl).MoveToOuterDisposeScope()
