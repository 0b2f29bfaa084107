namespace Hybrid.Wsss.Methods.Plda

open TorchSharp
open Hybrid.Vision
open Hybrid.Wsss
open Hybrid.Wsss.Schedules

/// L_da, the pixel-level domain alignment term, for each discriminator of Tab. VII. The
/// adversarial variants put a gradient reversal layer (GRL) between the backbone feature and
/// the discriminator, scaled by the DANN coefficient of the training progress, so one
/// minimisation trains the discriminator to tell the domains apart and the feature extractor
/// to confuse it (Eq. 3-4).
module DomainAlignment =
    /// The discriminator a configuration needs: K heads for MultiHead and MADA, one for DANN,
    /// none for MMD (which is minimised directly on the features).
    let create (cfg: PldaConfig) (channels: int64) (classes: int) : DomainClassifier option =
        let make heads = new DomainClassifier(channels, heads, int64 cfg.Hidden1, int64 cfg.Hidden2, cfg.Dropout)
        match cfg.Discriminator with
        | MultiHead | Mada -> Some(make classes)
        | Dann -> Some(make 1)
        | Mmd -> None

    /// The GRL coefficient at a point of training: 2 / (1 + exp(-gamma p)) - 1.
    let grlCoefficient (cfg: PldaConfig) (clock: Clock) : float =
        Schedule.build 1.0 (Ramps.dannWith cfg.GrlGamma) clock

    let private options (cfg: PldaConfig) =
        DomainLossOptions(BalanceDomains = cfg.BalanceDomains, EntropyWeighting = cfg.EntropyWeighting)

    /// L_da for one batch: features (B, D, h, w) of the backbone (with gradient), the domains
    /// at the same (h, w), the GRL coefficient. K = the discriminator's head count for
    /// MultiHead / MADA.
    let loss (cfg: PldaConfig) (discriminator: DomainClassifier option) (grl: float) (features: Tensor) (domains: Domains) : Tensor =
        use scope = torch.NewDisposeScope()
        let adversarial (d: DomainClassifier) =
            d.GrlLambda <- grl
            d.ReverseGradient <- true
            d.forward features                                             // (B, heads, 2, h, w)
        let l =
            match cfg.Discriminator, discriminator with
            | MultiHead, Some d ->
                let logits = adversarial d
                // Eq. 5: head c judges only the pixels assigned to class c
                let labels = DomainAdversarialLoss.AssignHeads(domains.Domain, domains.Head, d.HeadCount) // (B, K, h, w)
                DomainAdversarialLoss.MultiHead(logits, labels, null, options cfg)
            | Dann, Some d -> DomainAdversarialLoss.SingleHead(adversarial d, domains.Domain, options cfg)
            | Mada, Some d -> DomainAdversarialLoss.Mada(adversarial d, domains.Domain, domains.Distribution, options cfg)
            | Mmd, _ -> PixelMmd.loss cfg.MmdKernels cfg.MmdMultiplier cfg.MmdSamples features domains.Source domains.Target
            | other, None -> invalidOp (sprintf "the %A alignment needs a discriminator; build it with DomainAlignment.create" other)
        l.MoveToOuterDisposeScope()
