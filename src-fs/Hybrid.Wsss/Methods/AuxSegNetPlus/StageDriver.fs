namespace Hybrid.Wsss.Methods.AuxSegNetPlus

open Hybrid.Wsss.Schedules

/// What the end of an epoch means to the trainer of a phase.
type EpochVerdict =
    { /// the phase is over: stop training it
      Stop: bool
      /// this epoch is the best of its label stage so far (keep its weights)
      NewBest: bool }

/// Trains one phase epoch by epoch; after each epoch (0-based) it reports the epoch's metric
/// and must stop at the first verdict with Stop.
type PhaseTrainer = Phase -> (int -> float -> EpochVerdict) -> unit

/// Stage-wise training (Sec. III-C) over the pure `StageTraining` state machine: the phase
/// trainer does the epochs, the driver decides when a phase ends (epoch budget or early-stopping
/// plateau) and calls `regenerate` before every label stage, i.e. after the classification
/// phase and between stages.
module StageDriver =
    let run (plan: StagePlan) (train: PhaseTrainer) (regenerate: Phase -> unit) : PhaseSummary list =
        let mutable st = StageTraining.start plan
        if st.Phase <> Classification then regenerate st.Phase
        let mutable finished = false
        while not finished do
            let phase = st.Phase
            let mutable ended: StageEvent option = None
            let onEpoch (epoch: int) (metric: float) : EpochVerdict =
                match ended with
                | Some _ -> invalidOp (sprintf "the trainer of %A went on after the phase ended" phase)
                | None -> ()
                if epoch <> st.EpochInPhase then
                    invalidOp (sprintf "the trainer of %A reported epoch %d, expected %d" phase epoch st.EpochInPhase)
                let st', event = StageTraining.observe metric st
                // a finished phase's stopper is reset in st'; its summary keeps the best epoch
                let best =
                    match event with
                    | NextEpoch -> st'.Stopper.Best
                    | PhaseFinished(summary, _)
                    | TrainingFinished summary -> summary.Best
                let newBest =
                    match phase, best with
                    | LabelStage _, Some b -> b.Epoch = epoch
                    | _ -> false
                st <- st'
                match event with
                | NextEpoch -> { Stop = false; NewBest = newBest }
                | e ->
                    ended <- Some e
                    { Stop = true; NewBest = newBest }
            train phase onEpoch
            match ended with
            | None -> invalidOp (sprintf "the trainer of %A returned before the plan ended the phase (after %d epochs)" phase st.EpochInPhase)
            | Some(PhaseFinished(_, next)) -> regenerate next
            | Some(TrainingFinished _) -> finished <- true
            | Some NextEpoch -> ()
        st.Completed
