/// CoSA's EMA teacher: a hard copy at construction, momentum 0 / 1 / in between over parameters
/// and buffers, without autograd, and only for the same architecture.
module Hybrid.Vision.Tests.EmaTeacherTests

open System
open Expecto
open TorchSharp
open TorchSharp.Modules
open Hybrid.Vision
open Hybrid.Vision.Tests.TestKit

type private Layer = torch.nn.Module<Tensor, Tensor>

let private net (seed: int64) : Sequential =
    torch.manual_seed seed |> ignore
    torch.nn.Sequential(
        torch.nn.Conv2d(3L, 4L, 3L, padding = 1L) :> Layer,
        torch.nn.BatchNorm2d(4L) :> Layer,
        torch.nn.ReLU() :> Layer,
        torch.nn.Conv2d(4L, 2L, 1L) :> Layer)

let private snapshot (m: torch.nn.Module) : Map<string, Tensor> =
    m.state_dict () |> Seq.map (fun kv -> kv.Key, kv.Value.detach().clone()) |> Map.ofSeq

/// Moves the student: a training forward (BN running stats and num_batches_tracked change) and
/// a parameter nudge.
let private perturb (student: Sequential) (seed: int64) =
    use _scope = torch.NewDisposeScope()
    student.train ()
    student.forward(randn seed [| 2L; 3L; 6L; 6L |] * 3.0 + 1.0) |> ignore
    use _g = torch.no_grad ()
    for p in student.parameters () do p.add_(randn (seed + 1L) p.shape * 0.1) |> ignore

[<Tests>]
let tests =
    testList "Modules.EmaTeacher" [
        testCase "Construction is a hard copy and the teacher never requires grad" (fun () ->
            use _scope = torch.NewDisposeScope()
            use student = net 71L
            use ema = new EmaTeacher<Sequential>(net 72L, student)
            for KeyValue (k, v) in student.state_dict () do Expect.isTrue (same (ema.Teacher.state_dict().[k]) v) k
            for p in ema.Teacher.parameters () do Expect.isFalse p.requires_grad "teacher parameters do not require grad"
            for p in student.parameters () do Expect.isTrue p.requires_grad "student parameters still do"
            let y = ema.Teacher.forward(randn 73L [| 1L; 3L; 6L; 6L |])
            Expect.isFalse y.requires_grad "the teacher's output carries no graph")

        testCase "Momentum zero copies the student, one keeps the teacher, and buffers follow" (fun () ->
            use _scope = torch.NewDisposeScope()
            use student = net 81L
            use ema = new EmaTeacher<Sequential>(net 82L, student)
            perturb student 83L
            let before = snapshot ema.Teacher

            ema.Update(student, 1.0)                                            // m = 1: unchanged
            for KeyValue (k, v) in ema.Teacher.state_dict () do Expect.isTrue (same v before[k]) $"m = 1 changed {k}"

            ema.Update(student, 0.0)                                            // m = 0: exact copy, buffers included
            for KeyValue (k, v) in student.state_dict () do Expect.isTrue (same (ema.Teacher.state_dict().[k]) v) $"m = 0 did not copy {k}"
            Expect.equal (ema.Teacher.state_dict().["1.num_batches_tracked"].item<int64> ()) 1L "num_batches_tracked copied"
            for p in ema.Teacher.parameters () do Expect.isFalse p.requires_grad "still no grad")

        testCase "Intermediate momentum mixes floats and copies integer buffers" (fun () ->
            use _scope = torch.NewDisposeScope()
            use student = net 91L
            use ema = new EmaTeacher<Sequential>(net 92L, student)
            perturb student 93L
            perturb student 95L
            let t0 = snapshot ema.Teacher
            let m = 0.9
            ema.Update(student, m)
            for KeyValue (k, s) in student.state_dict () do
                let t = ema.Teacher.state_dict().[k]
                if torch.is_floating_point s.dtype then close (t0[k] * m + s * (1.0 - m)) t 1e-6 k
                else Expect.isTrue (same t s) $"integer buffer {k} not copied"
            Expect.equal (ema.Teacher.state_dict().["1.num_batches_tracked"].item<int64> ()) 2L "num_batches_tracked copied"
            Expect.isTrue (scalar (ema.Teacher.state_dict().["1.running_mean"].abs().sum()) > 0.0) "running stats moved with the student")

        testCase "A different architecture is refused" (fun () ->
            use student = net 101L
            torch.manual_seed 102L |> ignore
            use other = torch.nn.Sequential(torch.nn.Conv2d(3L, 4L, 3L, padding = 1L) :> Layer, torch.nn.ReLU() :> Layer)
            let ex = raises<ArgumentException> "another architecture" (fun () -> new EmaTeacher<Sequential>(other, student) |> ignore)
            Expect.stringContains ex.Message "architecture" "says why")
    ]
