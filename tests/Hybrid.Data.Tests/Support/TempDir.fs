namespace Hybrid.Data.Tests

open System
open System.IO

/// A fresh temporary folder, deleted on dispose; dir["a/b.png"] is a path inside it.
type TempDir() =
    let path = Path.Combine(Path.GetTempPath(), "hybrid-data-" + Guid.NewGuid().ToString("N").Substring(0, 12))
    do Directory.CreateDirectory path |> ignore

    member _.Path = path
    member _.Item with get (relative: string) = Path.Combine(path, relative)

    interface IDisposable with
        member _.Dispose() =
            try Directory.Delete(path, true) with :? IOException -> ()
