/// Devices as the command line spells them, and the clear error for CUDA on this CPU-only build.
module Hybrid.Torch.Tests.DevicesTests

open System
open Expecto
open TorchSharp
open Hybrid.Torch
open Hybrid.Torch.Tests.OneThread

[<Tests>]
let tests =
    testList "Devices" [
        testCase "Parse reads cpu, cuda and cuda:N in any case" (fun () ->
            let cpu = Devices.Parse " CPU "
            Expect.equal cpu.``type`` DeviceType.CPU "cpu"
            let cuda = Devices.Parse "cuda"
            Expect.equal (cuda.``type``, cuda.index) (DeviceType.CUDA, 0) "cuda is cuda:0"
            let cuda3 = Devices.Parse "Cuda:3"
            Expect.equal (cuda3.``type``, cuda3.index) (DeviceType.CUDA, 3) "cuda:3"
            Expect.equal (Devices.Show cpu) "cpu" "cpu spelled back"
            Expect.equal (Devices.Show cuda3) "cuda:3" "cuda:3 spelled back")

        testCase "Parse rejects what is not a device, naming the choices" (fun () ->
            for text in [ "tpu"; "cuda:"; "cuda:-1"; "cuda:x"; "" ] do
                let e = Expect.throwsC (fun () -> Devices.Parse text |> ignore) id
                Expect.isTrue (e :? ArgumentException) $"'{text}': {e.GetType().Name}"
                Expect.stringContains e.Message "use cpu, cuda or cuda:N" $"'{text}' message")

        torchTest "Require(cpu) returns the device and Resolve makes tensors there" (fun () ->
            let d = Devices.Resolve "cpu"
            Expect.equal d.``type`` DeviceType.CPU "cpu resolves"
            use t = torch.ones ([| 2L |], device = d)
            Expect.equal t.device_type DeviceType.CPU "tensor on the cpu")

        testCase "Require(cuda) on this CPU-only build says which package gives CUDA" (fun () ->
            Expect.isFalse (torch.cuda.is_available ()) "this build has no CUDA"
            for text in [ "cuda"; "cuda:1" ] do
                let e = Expect.throwsC (fun () -> Devices.Require(Devices.Parse text) |> ignore) id
                Expect.isTrue (e :? InvalidOperationException) $"{text}: {e.GetType().Name}"
                Expect.stringContains e.Message "TorchSharp-cuda-linux" $"{text}: names the CUDA package"
                Expect.stringContains e.Message "--device cpu" $"{text}: says how to go on without a GPU"
                Expect.stringContains e.Message (Devices.Show(Devices.Parse text)) $"{text}: names the device"
            Expect.throws (fun () -> Devices.Resolve "cuda:0" |> ignore) "Resolve checks too")
    ]
