namespace Hybrid.Wsss.Methods.Cam

open TorchSharp
open Hybrid.Vision.Backbones
open Hybrid.Vision.Heads
open Hybrid.Wsss

/// One forward of the CAM network: the backbone's features, image-level scores (B, K) and the
/// raw class score maps W . F (B, K, h, w) (before ReLU).
type CamForward =
    { Features: Features
      Scores: Tensor
      Maps: Tensor }

/// A classifier on a backbone (the CAM baseline every plug-in method builds on).
type CamNet(backbone: Backbone, classes: int64, pooling: CamPooling) as this =
    inherit torch.nn.Module<Tensor, Tensor>("CamNet")
    let classifier = new CamClassifier(backbone.Info.Channels, classes, pooling)
    do
        this.register_module("backbone", backbone)
        this.register_module("classifier", classifier)

    /// Children are registered by name above; no field reflection.
    override _.RegisterComponents() = ()

    member _.Backbone = backbone
    member _.Classifier = classifier
    member _.Classes = classes

    /// features, scores and score maps of images (B, 3, H, W).
    member _.Run(images: Tensor) : CamForward =
        let f = backbone.forward images
        { Features = f
          Scores = classifier.forward f.Final          // (B, K)
          Maps = classifier.RawCam f.Final }            // (B, K, h, w)

    /// Raw score maps (B, K, h, w) only.
    member this.Maps(images: Tensor) : Tensor =
        use f = backbone.forward images
        classifier.RawCam f.Final

    /// Image-level scores (B, K).
    override _.forward images =
        use f = backbone.forward images
        classifier.forward f.Final

    /// Parameter groups: backbone x1, the classifier x headLr (MAP.md: "lr x10 for new layers"
    /// on a pretrained backbone; see MethodEnv.headLrMult).
    member _.Groups(headLr: float) =
        [ Hybrid.Torch.Optim.ParamGroup(backbone.parameters () |> Seq.filter (fun p -> p.requires_grad), 1.0, name = "backbone")
          Hybrid.Torch.Optim.ParamGroup(classifier.parameters (), headLr, name = "classifier") ]
