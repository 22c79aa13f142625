namespace ModelGen.Memory
{
    /// <summary>The shapes of one pass through the model: training forward, prefill, or one decode step.</summary>
    internal sealed class Pass
    {
        public Pass(long batch, long queries, long keys, int ranks, bool training, DeviceProfile device)
        {
            Batch = batch;
            Queries = queries;
            Keys = keys;
            Ranks = ranks;
            Training = training;
            Device = device;
        }

        /// <summary>Sequences per rank.</summary>
        public long Batch { get; }

        /// <summary>Positions computed in this pass (the sequence length; 1 when decoding).</summary>
        public long Queries { get; }

        /// <summary>Positions attended to (the sequence length).</summary>
        public long Keys { get; }

        /// <summary>Tensor-parallel ranks.</summary>
        public int Ranks { get; }

        /// <summary>Autograd records the pass (dropout active, tensors saved).</summary>
        public bool Training { get; }

        /// <summary>The device (dropout mask format).</summary>
        public DeviceProfile Device { get; }

        /// <summary>The loss reads all <c>V</c> logits, gathered on every tensor-parallel rank (<see cref="Specs.ScenarioSpec.GatheredLogits"/>).</summary>
        public bool GatheredLogits { get; init; }

        /// <summary>Tokens in the pass, batch × queries.</summary>
        public long Tokens => Batch * Queries;
    }

    /// <summary>
    /// A tensor a block creates during its forward. Saved: autograd keeps it until the block's backward. Recomputed: kept only
    /// while a selectively checkpointed attention core is recomputed in backward. Neither: a temporary that lives until the block
    /// returns (TorchSharp frees a module's intermediates when its dispose scope ends). Replicated: outside the tensor-parallel
    /// region, so only sequence parallelism divides it. ReturnedByCheckpoint: not a forward tensor but the gradient a checkpointed
    /// core hands back in backward, which may outlive the backward (see <see cref="Step.ReturnedGradients"/>).
    /// A class, not a struct: lists of it are built in the compiler, where a list of a struct is compiled just in time in every
    /// compiler process and a list of a class shares precompiled code (docs/benchmarks-analyzers.md).
    /// </summary>
    internal sealed record Created(string Block, string Name, long Bytes, bool Saved, bool Replicated, bool Recomputed = false, bool ReturnedByCheckpoint = false);
}
