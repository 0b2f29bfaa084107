namespace Hybrid.Wsss.Methods.Csd

/// CSD's domains: single-label images form the source domain, multi-label images the target.
type Domain =
    | Source
    | Target

/// Image indices of each domain, ascending; every image is in exactly one of them.
type DomainSplit = { Source: int[]; Target: int[] }

/// The domain split of CSD (Sec. 3): images with exactly one class are the source domain
/// (their pseudo masks are the reliable prior), images with two or more the target domain.
/// Image labels are sets of class indices 0..C-1 (repeats are ignored).
module DomainSplit =
    /// The domain of one image's labels. An image without any class belongs to neither domain
    /// (WSSS training lists contain none): that is an error naming what to fix.
    let domainOf (labels: int[]) : Domain =
        match (Array.distinct labels).Length with
        | 0 -> invalidArg (nameof labels) "An image has no class label; CSD needs at least one class per training image (drop background-only images from the list)."
        | 1 -> Source
        | _ -> Target

    /// Splits images (index = position in `labelSets`) into source and target.
    let split (labelSets: int[][]) : DomainSplit =
        let domains =
            labelSets
            |> Array.mapi (fun i labels ->
                try
                    i, domainOf labels
                with :? System.ArgumentException as e ->
                    invalidArg (nameof labelSets) (sprintf "Image %d: %s" i e.Message))
        { Source = domains |> Array.filter (fun (_, d) -> d = Source) |> Array.map fst
          Target = domains |> Array.filter (fun (_, d) -> d = Target) |> Array.map fst }

    /// For each class 0..numClasses-1, the source-domain images of that class (ascending).
    let sourceImagesByClass (numClasses: int) (labelSets: int[][]) : int[][] =
        let byClass = Array.init numClasses (fun _ -> ResizeArray<int>())
        labelSets
        |> Array.iteri (fun i labels ->
            match Array.distinct labels with
            | [| c |] ->
                if c < 0 || c >= numClasses then
                    invalidArg (nameof labelSets) (sprintf "Image %d has class %d, outside 0..%d." i c (numClasses - 1))
                byClass.[c].Add i
            | _ -> ())
        byClass |> Array.map Array.ofSeq
