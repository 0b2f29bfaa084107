// The tests share process-wide state: libtorch's default generator (RNG continuity tests) and
// the live-tensor count (leak tests). They run one at a time; the whole suite stays fast.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
