namespace Hybrid.Torch.Tests

open TorchSharp
open TorchSharp.Modules


/// The residual block of the fixture script's TinyResNet: conv1 -> bn1, plus the input, ReLU.
type TinyBlock(c: int64) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("Block")
    let conv = torch.nn.Conv2d(c, c, 3L, padding = 1L, bias = false)
    let bn = torch.nn.BatchNorm2d(c)
    do
        this.register_module ("conv1", conv)
        this.register_module ("bn1", bn)

    member _.conv1: Conv2d = conv
    member _.bn1: BatchNorm2d = bn

    override _.forward(x: torch.Tensor) : torch.Tensor =
        use _scope = torch.NewDisposeScope()
        let y = bn.forward (conv.forward x) + x                                      // (B, C, H, W)
        y.relu().MoveToOuterDisposeScope()

/// The F# twin of the fixture script's TinyResNet (same member names, so the same state-dict
/// keys as the torchvision-style `.pth` fixtures).
type TinyResNet() as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("TinyResNet")
    let stem = torch.nn.Conv2d(3L, 4L, 3L, padding = 1L, bias = false)
    let stemNorm = torch.nn.BatchNorm2d(4L)
    let residual = new TinyBlock(4L)
    let stage = torch.nn.Sequential(residual :> torch.nn.Module<torch.Tensor, torch.Tensor>)
    let head = torch.nn.Linear(4L, 3L)
    do
        this.register_module ("conv1", stem)
        this.register_module ("bn1", stemNorm)
        this.register_module ("layer1", stage)
        this.register_module ("fc", head)

    member _.conv1: Conv2d = stem
    member _.bn1: BatchNorm2d = stemNorm
    member _.layer1: Sequential = stage
    /// layer1.0
    member _.block: TinyBlock = residual
    member _.fc: Linear = head

    override _.forward(x: torch.Tensor) : torch.Tensor =
        use _scope = torch.NewDisposeScope()
        let h = (stemNorm.forward (stem.forward x)).relu()                          // (B, 4, H, W)
        let h = stage.forward h                                                     // (B, 4, H, W)
        head.forward(h.mean [| 2L; 3L |]).MoveToOuterDisposeScope()                 // (B, 3)
