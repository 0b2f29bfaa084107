/// `hybrid demo-mnist`: a small CNN trained one epoch on Fashion-MNIST through TorchSharp:
/// the smoke test of the whole stack (libtorch, autograd, modules, optimizer, scopes).
module Hybrid.Cli.Commands.MnistDemo

open System
open System.Diagnostics
open Argu
open TorchSharp
open Hybrid.Torch.Optim
open Hybrid.Data
open Hybrid.Wsss

type Args =
    | Epochs of int
    | Batch_Size of int
    | Lr of float
    | Seed of int
    | Device of name: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Epochs _ -> "epochs (default 1)"
            | Batch_Size _ -> "batch size (default 64)"
            | Lr _ -> "SGD learning rate (default 0.05, momentum 0.9)"
            | Seed _ -> "seed (default 0)"
            | Device _ -> Hybrid.Cli.DeviceOption.usage

/// conv-BN-ReLU-pool x2 -> linear: (B, 1, 28, 28) -> (B, 10).
type SmallCnn() as this =
    inherit torch.nn.Module<Tensor, Tensor>("SmallCnn")
    let features =
        torch.nn.Sequential(
            torch.nn.Conv2d(1L, 32L, 3L, padding = 1L, bias = false), torch.nn.BatchNorm2d(32L), torch.nn.ReLU(), torch.nn.MaxPool2d(2L),
            torch.nn.Conv2d(32L, 64L, 3L, padding = 1L, bias = false), torch.nn.BatchNorm2d(64L), torch.nn.ReLU(), torch.nn.MaxPool2d(2L))
    let head = torch.nn.Linear(64L * 7L * 7L, 10L)
    do
        this.register_module("features", features)
        this.register_module("head", head)

    /// Children are registered by name above; no field reflection.
    override _.RegisterComponents() = ()

    override _.forward x =
        use f = features.forward x                       // (B, 64, 7, 7)
        use flat = f.flatten(1L)                         // (B, 3136)
        head.forward flat                                // (B, 10)

let run (args: ParseResults<Args>) =
    let epochs = args.GetResult(Epochs, 1)
    let batch = args.GetResult(Batch_Size, 64)
    let lr = args.GetResult(Lr, 0.05)
    let seed = args.GetResult(Seed, 0)
    let device = Hybrid.Cli.DeviceOption.resolve (args.TryGetResult Device)
    torch.set_num_threads Environment.ProcessorCount
    torch.manual_seed (int64 seed) |> ignore
    let train = FashionMnist.Load(FashionMnistSplit.Train)
    let test = FashionMnist.Load(FashionMnistSplit.Test)
    Hybrid.Cli.Say.info $"Fashion-MNIST: {train.Count} train, {test.Count} test images"
    use model = (new SmallCnn()).``to``(device)
    use opt = Optimizer.SGD([ ParamGroup(model.parameters ()) ], lr, momentum = 0.9, weight_decay = 5e-4)
    let toBatch (set: FashionMnist) (idx: int[]) =
        let x = Array.zeroCreate<float32> (idx.Length * 784)
        let y = Array.zeroCreate<int64> idx.Length
        idx |> Array.iteri (fun j i ->
            let img = set.Image i
            for p in 0 .. 783 do x[j * 784 + p] <- (float32 img[p] / 255.0f - 0.2860f) / 0.3530f   // Fashion-MNIST mean/std
            y[j] <- int64 (set.Label i))
        torch.tensor(x, [| int64 idx.Length; 1L; 28L; 28L |], device = device), torch.tensor(y, device = device) // (B, 1, 28, 28), (B)
    let rng = Random(seed)
    let stepsPerEpoch = train.Count / batch
    let total = epochs * stepsPerEpoch
    let sw = Stopwatch.StartNew()
    let mutable step = 0
    for _ in 1 .. epochs do
        let order = Array.init train.Count id
        rng.Shuffle order
        for s in 0 .. stepsPerEpoch - 1 do
            use _scope = torch.NewDisposeScope()
            opt.set_lr (lr * (1.0 - float step / float total) ** 0.9)     // poly 0.9
            let x, y = toBatch train order[s * batch .. (s + 1) * batch - 1]
            let logits = model.forward x
            let loss = torch.nn.functional.cross_entropy(logits, y)
            opt.zero_grad ()
            loss.backward ()
            opt.step ()
            step <- step + 1
            if step % 100 = 0 || step = total then
                Console.Write($"\rstep {step}/{total}  loss {Host.item<float32> loss:F4}  {sw.Elapsed.TotalMilliseconds / float step:F1} ms/step   ")
    Console.WriteLine()
    let msPerStep = sw.Elapsed.TotalMilliseconds / float total
    model.eval ()
    let mutable correct = 0L
    use _ng = torch.no_grad ()
    for s in 0 .. 500 .. test.Count - 1 do
        use _scope = torch.NewDisposeScope()
        let idx = [| s .. min (s + 499) (test.Count - 1) |]
        let x, y = toBatch test idx
        let pred = (model.forward x).argmax(1L)
        correct <- correct + Host.item<int64> (pred.eq(y).sum())
    let acc = float correct / float test.Count
    Hybrid.Cli.Say.keyValues "Fashion-MNIST, small CNN" [
        "epochs", string epochs
        "test accuracy", $"{100.0 * acc:F2}%%"
        "time per step", $"{msPerStep:F1} ms (batch {batch}, {torch.get_num_threads ()} threads, {Hybrid.Torch.Devices.Show device})"
        "train time", $"{sw.Elapsed.TotalSeconds:F1} s"
    ]
    if acc >= 0.85 then 0 else 1
