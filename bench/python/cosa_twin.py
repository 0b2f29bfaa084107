"""The computation of one CoSA training step as src-fs/Hybrid.Wsss/Methods/Cosa computes it
(CosaMethod.losses after the warm-up, Assignment.infer, Cpl, Spl, Reliability, Cam2Seg,
Seg2Cam, Separation, ThresholdTracker with the GMM of Thresholds/, the EMA of EmaTeacher),
written in PyTorch for bench_wsss.py cosa-step. Default configuration (CosaConfig.defaults):
SPL guidance, no detach, swapped assignments, RAW, contrastive separation (Eq. 10 as printed,
tau 0.1, 1024 anchors), dynamic threshold (queue of 100 batch histograms of 1000 bins, floor
0.05, initial 0.5), momentum 0.9994, scales 1.0, 0.5, 1.5 with flips, weights 0.1 / 0.05 / 0.1.

Nothing is simplified in the tensor work. The GMM fit (managed F# loops on our side) is
numpy here: the same EM (quantile start, 300 iterations at most, tolerance 1e-10 per unit
weight, variance floor 1e-6) and the same bisection split, vectorised over the histogram bins.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

SCALES = [1.0, 0.5, 1.5]
PERPLEXITY_ALPHA, MIN_DISTANCE = 0.8, 1e-6     # lambda_beta = 1
WEIGHT_C2S, WEIGHT_S2C, WEIGHT_CSC = 0.1, 0.05, 0.1


def resize(t, h, w):
    return F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)


def normalise_max(maps, labels):                      # (B, K, h, w), (B, K)
    r = F.relu(maps)
    mx = r.amax((2, 3), keepdim=True).clamp_min(1e-5)
    return r / mx * labels.view(labels.size(0), labels.size(1), 1, 1)


def present_only(cams, labels):
    absent = labels.eq(0).view(labels.size(0), labels.size(1), 1, 1).expand(cams.shape)
    return cams.masked_fill(absent, -1.0)


def confidence(cams, labels):                         # -> (B, H, W)
    return present_only(cams, labels).amax(1).clamp_min(0.0)


def cpl(xi, cams, labels):                            # -> (B, H, W) int64
    best, arg = present_only(cams, labels).max(1)
    return (arg + 1).masked_fill(best.lt(xi), 0)


def perplexity(xi, nu):
    d = torch.where(nu.ge(xi), (nu - xi) / (1.0 - xi), (xi - nu) / xi).clamp(MIN_DISTANCE, 1.0)
    return -(d * PERPLEXITY_ALPHA).log()


def raw_weights(xi, nu):
    r = perplexity(xi, nu).reciprocal()
    return r * float(r.numel()) / r.sum()


def weighted_cross_entropy(logits, target, weights):
    valid = target.ne(255)
    per_pixel = F.cross_entropy(logits, target.masked_fill(~valid, 0), reduction="none")
    w = weights * valid.to(weights.dtype)
    n = valid.sum().float().clamp_min(1.0)
    return (per_pixel * w).sum() / n


def spl(tau, logits, labels):                         # (B, K + 1, H, W)
    b = labels.size(0)
    with_bg = torch.cat([torch.ones(b, 1), labels.float()], 1)
    absent = with_bg.eq(0).view(b, with_bg.size(1), 1, 1).expand(logits.shape)
    return (logits / tau).masked_fill(absent, float("-inf")).softmax(1)


def positive_pairs(tau, emb, labels):
    n = emb.size(0)
    z = F.normalize(emb, dim=1)
    sim = z @ z.t() / tau
    self_ = torch.eye(n, dtype=torch.bool)
    same = labels.unsqueeze(1).eq(labels.unsqueeze(0))
    positive = same & ~self_
    negative = ~same
    neg_lse = sim.masked_fill(~negative, -1e9).logsumexp(1, keepdim=True)
    hi = torch.maximum(sim, neg_lse.expand_as(sim))
    log_ratio = sim - (hi + ((sim - hi).exp() + (neg_lse - hi).exp()).log())
    pos = positive.float()
    pos_count = pos.sum(1)
    has_pos = pos_count.gt(0).float()
    per_anchor = -(log_ratio * pos).sum(1) / pos_count.clamp_min(1.0)
    return (per_anchor * has_pos).sum() / has_pos.sum().clamp_min(1.0)


def sample(budget, labels):                           # labels: numpy int64 of the candidates
    if len(labels) <= budget:
        return np.arange(len(labels))
    classes = np.unique(labels)
    quota = max(1, budget // len(classes))
    chosen = []
    for c in classes:
        idx = np.nonzero(labels == c)[0]
        if len(idx) <= quota:
            chosen.extend(idx.tolist())
        else:
            order = torch.randperm(len(idx)).numpy()
            chosen.extend(idx[order[:quota]].tolist())
    return np.asarray(chosen, dtype=np.int64)


def separation(cams, cpl_, region, tau=0.1, budget=1024):
    b, k, h, w = cams.shape
    flat = cams.permute(0, 2, 3, 1).reshape(b * h * w, k)
    flat_labels = cpl_.reshape(-1)
    candidates = region.reshape(-1).nonzero().reshape(-1)
    cand_labels = flat_labels.index_select(0, candidates).numpy()
    if len(np.unique(cand_labels)) < 2:
        return cams.sum() * 0.0
    pick = candidates.index_select(0, torch.from_numpy(sample(budget, cand_labels)))
    return positive_pairs(tau, flat.index_select(0, pick), flat_labels.index_select(0, pick))


# ---- dynamic threshold (Thresholds/ConfidenceQueue.fs, GaussianMixture.fs, Cosa/ThresholdTracker.fs)

def _log_wdens(w, mu, var, x):
    return math.log(w) - 0.5 * (np.log(2.0 * math.pi * var) + (x - mu) ** 2 / var)


def fit_gmm(values, weights, max_iter=300, tol=1e-10, min_var=1e-6):
    keep = weights > 0
    x, wt = values[keep], weights[keep]
    total = wt.sum()
    mean = (wt * x).sum() / total
    variance = (wt * (x - mean) ** 2).sum() / total
    cum = np.cumsum(wt)
    q = lambda p: x[min(np.searchsorted(cum, p * total), len(x) - 1)]   # x is sorted (bin centres)
    lo0, hi0 = q(0.25), q(0.75)
    if not hi0 > lo0:
        lo0, hi0 = x[0], x[-1]
    if not hi0 > lo0:
        return (0.5, lo0, min_var), (0.5, lo0, min_var)
    bg, fg = (0.5, lo0, max(min_var, variance / 4)), (0.5, hi0, max(min_var, variance / 4))

    def expectation(bg, fg):
        a, b = _log_wdens(*bg, x), _log_wdens(*fg, x)
        hi = np.maximum(a, b)
        lse = hi + np.log(np.exp(a - hi) + np.exp(b - hi))
        return np.exp(a - lse), (wt * lse).sum()

    def maximisation(old, resp):
        r = wt * resp
        nk = r.sum()
        if nk <= 1e-12 * total:
            return (1e-12, old[1], old[2])
        mu = (r * x).sum() / nk
        return (nk / total, mu, max(min_var, (r * (x - mu) ** 2).sum() / nk))

    resp, ll = expectation(bg, fg)
    for _ in range(max_iter):
        bg2, fg2 = maximisation(bg, resp), maximisation(fg, 1.0 - resp)
        s = bg2[0] + fg2[0]
        bg, fg = (bg2[0] / s, bg2[1], bg2[2]), (fg2[0] / s, fg2[1], fg2[2])
        resp, ll2 = expectation(bg, fg)
        done = abs(ll2 - ll) <= tol * total
        ll = ll2
        if done:
            break
    return (bg, fg) if bg[1] <= fg[1] else (fg, bg)


def gmm_split(bg, fg):
    r = lambda v: _log_wdens(*fg, v) - _log_wdens(*bg, v)
    lo, hi = bg[1], fg[1]
    if not hi > lo:
        return lo
    if r(lo) >= 0:
        return lo
    if r(hi) <= 0:
        return hi
    a, b = lo, hi
    while True:
        mid = 0.5 * (a + b)
        if mid <= a or mid >= b:
            return b
        if r(mid) >= 0:
            b = mid
        else:
            a = mid


class ThresholdTracker:
    """Queue of the last 100 batches' 1000-bin confidence histograms, refitted every batch."""

    def __init__(self, initial=0.5, capacity=100, bins=1000, floor=0.05):
        self.value, self.capacity, self.bins, self.floor = initial, capacity, bins, floor
        self.queue, self.totals = [], np.zeros(bins, dtype=np.int64)
        self.centres = (np.arange(bins) + 0.5) / bins

    def observe(self, nu):
        flat = nu.detach().flatten()
        kept = flat.masked_select(flat.gt(self.floor)).double().numpy()
        if len(kept) > 0:
            idx = np.clip((kept * self.bins).astype(np.int64), 0, self.bins - 1)
            idx[kept <= 0] = 0
            idx[kept >= 1] = self.bins - 1
            h = np.bincount(idx, minlength=self.bins)
            self.queue.append(h)
            self.totals += h
            if len(self.queue) > self.capacity:
                self.totals -= self.queue.pop(0)
            if self.totals.sum() > 0:
                self.value = gmm_split(*fit_gmm(self.centres, self.totals.astype(np.float64)))
        return min(0.99, max(0.01, self.value))


# ---- the step

@torch.no_grad()
def assign(an, images, labels):
    """Assignment.infer: M', M-dagger' (normalised) and S' (summed logits) at the image size."""
    h, w = images.shape[2:]
    cam = aux = seg = None
    for s in SCALES:
        sh, sw = max(1, round(h * s)), max(1, round(w * s))
        x = images if (sh, sw) == (h, w) else resize(images, sh, sw)
        for flipped in (False, True):
            o = an(x.flip(3) if flipped else x)
            back = (lambda t: t.flip(3)) if flipped else (lambda t: t)
            c = back(resize(F.relu(an.classifier.raw_cam(o["features"])), h, w))
            a = back(resize(F.relu(an.aux_classifier.raw_cam(o["low"])), h, w))
            g = back(resize(o["seg"], h, w))
            cam, aux, seg = (c, a, g) if cam is None else (cam + c, aux + a, seg + g)
    return normalise_max(cam, labels), normalise_max(aux, labels), seg


def losses(on, an, tracker, aux_tracker, weak, strong, labels):
    """CosaMethod.losses after the warm-up: the six weighted terms of Eq. 11."""
    o = on(strong)
    cls = F.binary_cross_entropy_with_logits(o["scores"], labels)
    cls_aux = F.binary_cross_entropy_with_logits(o["aux_scores"], labels)
    h, w = weak.shape[2:]
    m_cam, m_aux, m_seg = assign(an, weak, labels)
    with torch.no_grad():
        nu = confidence(m_cam, labels)
        xi = tracker.observe(nu)
        nu_aux = confidence(m_aux, labels)
        xi_aux = aux_tracker.observe(nu_aux)
        cpl_cam, cpl_aux = cpl(xi, m_cam, labels), cpl(xi_aux, m_aux, labels)
    seg = resize(o["seg"], h, w)
    c2s = weighted_cross_entropy(seg, cpl_cam, raw_weights(xi, nu))
    c2s_aux = weighted_cross_entropy(seg, cpl_aux, raw_weights(xi_aux, nu_aux))
    fh, fw = o["features"].shape[2:]
    target = resize(spl(0.01, m_seg, labels)[:, 1:], fh, fw)
    raw = on.classifier.raw_cam(o["features"])                       # (B, K, h, w)
    s2c = F.binary_cross_entropy_with_logits(F.relu(raw), target)
    aux_small = resize(m_aux, fh, fw)
    nu_small = confidence(aux_small, labels)
    region = perplexity(xi_aux, nu_small).le(1.0)
    csc = separation(raw, cpl(xi_aux, aux_small, labels), region)
    return [("cls", cls), ("cls_aux", cls_aux), ("c2s", c2s * WEIGHT_C2S), ("c2s_aux", c2s_aux * WEIGHT_C2S),
            ("s2c", s2c * WEIGHT_S2C), ("csc", csc * WEIGHT_CSC)]


@torch.no_grad()
def ema_update(an, on, m=0.9994):
    """AN <- m AN + (1 - m) ON over parameters and buffers; integer buffers copied."""
    pairs = list(zip(an.parameters(), on.parameters())) + list(zip(an.buffers(), on.buffers()))
    for t, s in pairs:
        if t.dtype.is_floating_point:
            t.mul_(m).add_(s, alpha=1 - m)
        else:
            t.copy_(s)
