namespace Hybrid.Wsss

open System

/// The class activation maps of one image in plain-array form: one map per class present in
/// the image (absent classes carry no map). Tensor code passes `ToArray` data here; this form
/// feeds the tensor-free pieces (CAM seed sweep, AuxSegNet+ pseudo labels).
type ClassMaps =
    { Height: int
      Width: int
      /// Segmentation labels of the present classes in map order. Labels are 1-based
      /// (0 is background), as in CoSA Eq. 3 where the label is argmax + 1.
      Classes: int[]
      /// (K, H, W) row-major, K = Classes.Length; normally normalised to [0, 1] per class.
      Maps: float[] }

module ClassMaps =
    /// Checked constructor: sizes must agree, labels must be >= 1 and distinct, values finite.
    let create (height: int) (width: int) (classes: int[]) (maps: float[]) : ClassMaps =
        if height < 1 || width < 1 then
            invalidArg (nameof height) (sprintf "ClassMaps needs a positive size, got %dx%d." height width)
        if maps.Length <> classes.Length * height * width then
            invalidArg
                (nameof maps)
                (sprintf
                    "ClassMaps expects K*H*W = %d*%d*%d = %d values (K = number of present classes), got %d."
                    classes.Length
                    height
                    width
                    (classes.Length * height * width)
                    maps.Length)
        match classes |> Array.tryFind (fun c -> c < 1) with
        | Some c -> invalidArg (nameof classes) (sprintf "Class label %d is not a foreground label (labels start at 1; 0 is background)." c)
        | None -> ()
        if (Array.distinct classes).Length <> classes.Length then
            invalidArg (nameof classes) (sprintf "Class labels repeat: %A." classes)
        match maps |> Array.tryFindIndex (fun v -> Double.IsNaN v || Double.IsInfinity v) with
        | Some i -> invalidArg (nameof maps) (sprintf "CAM value %d is %g; CAMs must be finite." i maps.[i])
        | None -> ()
        { Height = height; Width = width; Classes = Array.copy classes; Maps = Array.copy maps }

    /// Number of pixels H * W.
    let pixels (m: ClassMaps) : int = m.Height * m.Width

    /// Per pixel: the largest activation over the present classes (the confidence nu of CoSA
    /// Eq. 3) and the label of the class reaching it (first class on ties). With no present
    /// class the confidence is -infinity and the label 0 (background).
    let peak (m: ClassMaps) : float[] * int[] =
        let n = pixels m
        let value = Array.create n Double.NegativeInfinity
        let label = Array.zeroCreate n
        for k in 0 .. m.Classes.Length - 1 do
            let offset = k * n
            for p in 0 .. n - 1 do
                let v = m.Maps.[offset + p]
                if v > value.[p] then
                    value.[p] <- v
                    label.[p] <- m.Classes.[k]
        value, label
