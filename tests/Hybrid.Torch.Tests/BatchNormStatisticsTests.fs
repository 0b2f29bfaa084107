/// BatchNormStatistics: a forward in train mode inside Preserve normalises with the batch's
/// statistics as usual, and leaves every running estimate of a nested module as it was.
module Hybrid.Torch.Tests.BatchNormStatisticsTests

open Expecto
open TorchSharp
open Hybrid.Torch.Modules
open Hybrid.Torch.Tests.OneThread

let private running (m: torch.nn.Module) =
    [ for KeyValue(k, v) in m.state_dict () do
        if k.EndsWith "running_mean" || k.EndsWith "running_var" || k.EndsWith "num_batches_tracked" then
            yield k, v.detach().clone() ]

let private same (a: (string * torch.Tensor) list) (b: (string * torch.Tensor) list) =
    List.length a = List.length b && List.forall2 (fun (ka, (va: torch.Tensor)) (kb, (vb: torch.Tensor)) -> ka = kb && va.eq(vb).all().item<bool>()) a b

[<Tests>]
let tests =
    testList "BatchNormStatistics" [
        torchTest "a train-mode forward inside Preserve leaves the running statistics and changes nothing else" (fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 3L |> ignore
            let net = torch.nn.Sequential(torch.nn.Conv2d(3L, 4L, 3L), torch.nn.BatchNorm2d(4L), torch.nn.ReLU(), torch.nn.Conv2d(4L, 2L, 1L), torch.nn.BatchNorm2d(2L))
            net.train ()
            let x = torch.randn([| 2L; 3L; 8L; 8L |])
            let before = running net
            let inside =
                use keep = BatchNormStatistics.Preserve net
                Expect.equal keep.Count 2 "two BN layers"
                use _ng = torch.no_grad ()
                net.forward x
            Expect.isTrue (same (running net) before) "running statistics as they were"
            // the same forward without Preserve: the same output (batch statistics), moved estimates
            let outside = (use _ng = torch.no_grad () in net.forward x)
            Expect.isTrue (inside.allclose(outside, 0.0, 0.0)) "the forward itself is unchanged"
            Expect.isFalse (same (running net) before) "without Preserve the estimates move (the test can fail)")

        torchTest "a graph recorded before a preserved forward still runs its backward" (fun () ->
            use scope = torch.NewDisposeScope()
            torch.manual_seed 4L |> ignore
            let net = torch.nn.Sequential(torch.nn.Conv2d(3L, 4L, 3L), torch.nn.BatchNorm2d(4L), torch.nn.ReLU())
            net.train ()
            let loss = (net.forward (torch.randn([| 2L; 3L; 8L; 8L |]))).square().mean()
            let before = running net
            do
                use _keep = BatchNormStatistics.Preserve net
                use _ng = torch.no_grad ()
                net.forward (torch.randn([| 2L; 3L; 8L; 8L |])) |> ignore
            Expect.isTrue (same (running net) before) "running statistics as they were"
            loss.backward ()
            Expect.isTrue (net.parameters () |> Seq.forall (fun p -> not (isNull p.grad))) "every parameter has its gradient")
    ]
