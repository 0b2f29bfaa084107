namespace Hybrid.Wsss.Methods.Cosa

open TorchSharp
open Hybrid.Vision.Backbones
open Hybrid.Vision.Heads
open Hybrid.Wsss

/// One forward of a CoSA network. B batch, K foreground classes.
type CosaOutputs =
    { /// image-level logits of the classifier on the final feature (B, K) (GMP, Eq. 1)
      Scores: Tensor
      /// image-level logits of the auxiliary classifier on the low-level feature (B, K)
      AuxScores: Tensor
      /// the final feature map F (B, D, h, w)
      Features: Tensor
      /// the low-level feature map (B, D', h', w'), source of M-dagger
      LowFeatures: Tensor
      /// segmentation logits (B, K + 1, h, w)
      Segmentation: Tensor }

/// The architecture shared by CoSA's online and assignment networks (Sec. 3.2, Fig. 2):
/// backbone, CAM classifier W_fc on the final feature (GMP), auxiliary CAM classifier on the
/// backbone's low-level feature (M-dagger, Sec. 3.4) and a LargeFOV segmentation head on the
/// final feature.
type CosaNetwork(backbone: Backbone, classes: int64, head: SegmentationHead) as this =
    inherit torch.nn.Module<Tensor, CosaOutputs>("CosaNetwork")
    let info = backbone.Info
    let classifier = new CamClassifier(info.Channels, classes, CamPooling.Gmp)
    let auxClassifier = new CamClassifier(info.LowLevelStage.Channels, classes, CamPooling.Gmp)
    let decoder =
        new DeepLabLargeFov(info.Channels, classes + 1L, LargeFovConfig(int64 head.Hidden, int64 head.Dilation, int64 head.Fc7Kernel, 0.0, false))
    do
        this.register_module("backbone", backbone)
        this.register_module("classifier", classifier)
        this.register_module("aux_classifier", auxClassifier)
        this.register_module("decoder", decoder)

    /// Children are registered by name above; no field reflection (it would add
    /// `auxClassifier.*` beside `aux_classifier.*` when this network becomes a child).
    override _.RegisterComponents() = ()

    member _.Backbone = backbone
    member _.Classifier = classifier
    member _.AuxClassifier = auxClassifier
    member _.Decoder = decoder
    member _.Classes = classes

    /// Parameters of the backbone (lr x1) and of the new layers (classifiers, decoder).
    member _.BackboneParameters = backbone.parameters () |> List.ofSeq
    member _.HeadParameters =
        [ yield! classifier.parameters ()
          yield! auxClassifier.parameters ()
          yield! decoder.parameters () ]

    override _.forward(images: Tensor) : CosaOutputs =                  // (B, 3, H, W)
        use feats = backbone.forward images
        // the two maps outlive `feats` (disposing Features disposes its tensors)
        let final = feats.Final.alias()                                  // (B, D, h, w)
        let low = feats.LowLevel.alias()                                 // (B, D', h', w')
        { Scores = classifier.forward final                               // (B, K)
          AuxScores = auxClassifier.forward low                           // (B, K)
          Features = final
          LowFeatures = low
          Segmentation = decoder.forward final }                          // (B, K + 1, h, w)

    /// CAM scores W . F before the ReLU (B, K, h, w), with the Tab. 4a detach.
    member _.RawCam(o: CosaOutputs, detach: CamDetach) : Tensor = classifier.RawCam(o.Features, detach)

    /// Low-level CAM scores W' . F' before the ReLU (B, K, h', w').
    member _.RawAuxCam(o: CosaOutputs) : Tensor = auxClassifier.RawCam(o.LowFeatures)
