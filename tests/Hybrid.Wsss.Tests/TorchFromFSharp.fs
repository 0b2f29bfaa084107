/// The Hybrid.Torch API as F# code reads it: operators with floats on either side, optional
/// named arguments without overload ambiguity, `use` for tensors and dispose scopes, modules
/// and an optimizer step, errors as exceptions.
module Hybrid.Wsss.Tests.TorchFromFSharp

open Xunit
open Hybrid.Torch
open Hybrid.Torch.Modules
open Hybrid.Torch.Optim

type F = torch.nn.functional

[<Fact>]
let ``operators take tensors and floats on either side`` () =
    use a = torch.tensor [| 1.0f; 2.0f; 3.0f |]
    use b = torch.ones [| 3L |]
    use c = (a + b) * 2.0 - 1.0
    use d = 6.0 / a
    use e = 10.0 - -a
    Assert.Equal<float32[]>([| 3.0f; 5.0f; 7.0f |], c.data<float32> ())
    Assert.Equal<float32[]>([| 6.0f; 3.0f; 2.0f |], d.data<float32> ())
    Assert.Equal<float32[]>([| 11.0f; 12.0f; 13.0f |], e.data<float32> ())
    use labels = torch.tensor [| 0L; 1L; 2L |]
    use shifted = labels + 1.0                        // an integral float keeps int64 labels int64
    Assert.Equal(ScalarType.Int64, shifted.dtype)

[<Fact>]
let ``overloads resolve from plain F# arguments`` () =
    use x = torch.arange(24L).view(2L, 3L, 4L).to_type ScalarType.Float64  // (B, C, L); `to` is an F# keyword
    use all = x.sum ()
    use perDim = x.sum 1L
    use keep = x.mean([| 1L; 2L |], keepdim = true)
    Assert.Equal(276.0, all.item<float> ())
    Assert.Equal<int64[]>([| 2L; 4L |], perDim.shape)
    Assert.Equal<int64[]>([| 2L; 1L; 1L |], keep.shape)
    let struct (values, indices) = x.max 2L
    use _v = values
    use i = indices
    Assert.Equal<int64[]>([| 3L; 3L; 3L; 3L; 3L; 3L |], i.data<int64> ())
    use img = torch.ones [| 1L; 2L; 4L; 4L |]
    use w = torch.ones [| 2L; 1L; 3L; 3L |]
    use y = F.conv2d (img, w, stride = 2L, padding = 1L, groups = 2L)   // (1, 2, 2, 2)
    Assert.Equal<int64[]>([| 1L; 2L; 2L; 2L |], y.shape)
    use up = F.interpolate (img, size = [| 8L; 8L |], mode = InterpolationMode.Bilinear, align_corners = true)
    Assert.Equal<int64[]>([| 1L; 2L; 8L; 8L |], up.shape)
    use joined = torch.cat ([| img; img |], dim = 1L)
    Assert.Equal(4L, joined.size 1)

[<Fact>]
let ``use scopes free temporaries and a small model trains`` () =
    torch.manual_seed 5L
    use model = new Sequential(new Conv2d(1L, 4L, 3L, padding = 1L), new BatchNorm2d(4L), new ReLU(), new AdaptiveAvgPool2d(1L))
    use head = new Linear(4L, 2L)
    use opt = new SGD(Seq.append (model.parameters ()) (head.parameters ()), lr = 0.1, momentum = 0.9)
    use x = torch.randn [| 4L; 1L; 6L; 6L |]
    use target = torch.tensor [| 0L; 1L; 1L; 0L |]
    let step () =
        use _scope = torch.NewDisposeScope()
        opt.zero_grad ()
        let features = model.forward(x).flatten 1L                        // (B, 4)
        let loss = F.cross_entropy (head.forward features, target)
        loss.backward ()
        opt.step ()
        loss.item<float> (), loss
    let first, firstLoss = step ()
    let losses = [ for _ in 1..30 -> fst (step ()) ]
    Assert.True(firstLoss.IsDisposed, "the scope frees the step's tensors")
    Assert.False(x.IsDisposed)
    Assert.True(List.last losses < first * 0.9, sprintf "loss %f -> %f" first (List.last losses))
    use _noGrad = torch.no_grad ()
    use z = torch.zeros [| 1L; 4L |]
    use probe = head.forward z
    Assert.False probe.requires_grad

[<Fact>]
let ``libtorch errors arrive as TorchException`` () =
    use a = torch.ones [| 2L |]
    use b = torch.ones [| 3L |]
    let e = Assert.Throws<TorchException>(fun () -> a + b |> ignore)
    Assert.StartsWith("add:", e.Message)
