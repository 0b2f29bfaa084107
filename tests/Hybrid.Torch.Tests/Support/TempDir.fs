namespace Hybrid.Torch.Tests

open System
open System.IO

/// A fresh folder under the system temp dir, deleted on dispose.
type TempDir() =
    let path = Path.Combine(Path.GetTempPath(), "hybrid-torch-tests-" + Guid.NewGuid().ToString("N"))
    do Directory.CreateDirectory path |> ignore

    member _.Path = path
    member _.File(name: string) = Path.Combine(path, name)

    interface IDisposable with
        member _.Dispose() =
            try Directory.Delete(path, true) with :? IOException -> ()
