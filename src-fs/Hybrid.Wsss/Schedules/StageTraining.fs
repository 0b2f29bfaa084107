namespace Hybrid.Wsss.Schedules

/// A phase of stage-wise training: classification-only pre-training, then label stages
/// numbered from 0, each trained on labels regenerated at its start (AuxSegNet+ Sec. III-C).
type Phase =
    | Classification
    | LabelStage of int

/// The stage-wise plan.
type StagePlan =
    { /// epochs of classification-only training first (0 skips it)
      ClassificationEpochs: int
      /// number of label stages
      Stages: int
      /// epoch budget of each label stage
      MaxEpochsPerStage: int
      /// early-stopping patience within a label stage
      Patience: int
      Goal: Goal }

/// Why a phase ended.
type PhaseEnd =
    | EpochBudget
    | Plateau

/// The record of one finished phase.
type PhaseSummary =
    { Phase: Phase
      Epochs: int
      /// best metric of the phase (None for classification, which is not early-stopped)
      Best: Best option
      Reason: PhaseEnd }

/// What the trainer does next.
type StageEvent =
    /// train another epoch of the current phase
    | NextEpoch
    /// the phase is over: regenerate the labels, then train `next`
    | PhaseFinished of finished: PhaseSummary * next: Phase
    /// the last phase is over
    | TrainingFinished of finished: PhaseSummary

/// Stage-wise training with early stopping as a pure state machine: feed it each epoch's
/// metric, act on the event.
type StageTraining =
    { Plan: StagePlan
      Phase: Phase
      /// epochs finished in the current phase
      EpochInPhase: int
      Stopper: EarlyStopping
      /// finished phases, oldest first
      Completed: PhaseSummary list }

module StageTraining =
    /// AuxSegNet+: 15 classification epochs, then label stages of at most 15 epochs with
    /// patience 5; its Tab. VI / Fig. 8 saturate at stage 3, so stages 0..3.
    let auxSegNetPlus: StagePlan =
        { ClassificationEpochs = 15
          Stages = 4
          MaxEpochsPerStage = 15
          Patience = 5
          Goal = Maximise }

    /// The state before the first epoch.
    let start (plan: StagePlan) : StageTraining =
        if plan.ClassificationEpochs < 0 then invalidArg (nameof plan) "ClassificationEpochs must be >= 0."
        if plan.Stages < 1 then invalidArg (nameof plan) "A stage-wise plan needs at least one label stage."
        if plan.MaxEpochsPerStage < 1 then invalidArg (nameof plan) "MaxEpochsPerStage must be >= 1."
        { Plan = plan
          Phase = if plan.ClassificationEpochs > 0 then Classification else LabelStage 0
          EpochInPhase = 0
          Stopper = EarlyStopping.create plan.Goal plan.Patience
          Completed = [] }

    let private finish (st: StageTraining) (summary: PhaseSummary) : StageTraining * StageEvent =
        let completed = st.Completed @ [ summary ]
        let next =
            match st.Phase with
            | Classification -> Some(LabelStage 0)
            | LabelStage k when k + 1 < st.Plan.Stages -> Some(LabelStage(k + 1))
            | LabelStage _ -> None
        match next with
        | Some phase ->
            { st with
                Phase = phase
                EpochInPhase = 0
                Stopper = EarlyStopping.create st.Plan.Goal st.Plan.Patience
                Completed = completed },
            PhaseFinished(summary, phase)
        | None -> { st with Completed = completed }, TrainingFinished summary

    /// Records the metric of the epoch just trained in the current phase.
    let observe (metric: float) (st: StageTraining) : StageTraining * StageEvent =
        let epochs = st.EpochInPhase + 1
        match st.Phase with
        | Classification ->
            let st = { st with EpochInPhase = epochs }
            if epochs >= st.Plan.ClassificationEpochs then
                finish st { Phase = Classification; Epochs = epochs; Best = None; Reason = EpochBudget }
            else
                st, NextEpoch
        | LabelStage _ ->
            let stopper, verdict = EarlyStopping.observe metric st.Stopper
            let st = { st with EpochInPhase = epochs; Stopper = stopper }
            let summary reason = { Phase = st.Phase; Epochs = epochs; Best = stopper.Best; Reason = reason }
            match verdict with
            | Stop -> finish st (summary Plateau)
            | _ when epochs >= st.Plan.MaxEpochsPerStage -> finish st (summary EpochBudget)
            | _ -> st, NextEpoch

    /// Drives a whole plan: `trainEpoch phase epoch` trains one epoch and returns its metric;
    /// `regenerateLabels phase` is called before every label stage (after classification and
    /// between stages, and before stage 0 when there is no classification phase). Returns the
    /// finished phases in order.
    let run (plan: StagePlan) (trainEpoch: Phase -> int -> float) (regenerateLabels: Phase -> unit) : PhaseSummary list =
        let rec loop (st: StageTraining) =
            let metric = trainEpoch st.Phase st.EpochInPhase
            match observe metric st with
            | st', NextEpoch -> loop st'
            | st', PhaseFinished(_, next) ->
                regenerateLabels next
                loop st'
            | st', TrainingFinished _ -> st'.Completed
        let st = start plan
        if st.Phase <> Classification then regenerateLabels st.Phase
        loop st
