namespace ModelGen.Memory
{
    /// <summary>
    /// One unit of execution order: a primitive block, or a whole fully checkpointed layer instance (which backward handles as one).
    /// Bytes are per rank.
    /// </summary>
    internal sealed class Step
    {
        /// <summary>Where it is, e.g. <c>Llama.Blocks[3]</c> or <c>Llama.Head</c>.</summary>
        public string Path { get; set; } = "";

        /// <summary>Stored bytes of its parameters (for streaming when parameters are offloaded).</summary>
        public long Weights { get; set; }

        /// <summary>Gradient bytes its backward produces (trainable parameters at their dtype).</summary>
        public long Gradients { get; set; }

        /// <summary>Saved bytes kept from its forward until its backward (a checkpointed layer: its input).</summary>
        public long Kept { get; set; }

        /// <summary>Saved bytes recreated during its backward (a checkpointed layer's activations, a selective core).</summary>
        public long Recompute { get; set; }

        /// <summary>Temporaries alive while it runs; the same bound is used for its backward's gradient tensors.</summary>
        public long Temporary { get; set; }

        /// <summary>Bytes of its input tensor (the residual stream entering it), alive beside its temporaries.</summary>
        public long Input { get; set; }

        /// <summary>
        /// For a checkpointed region (a fully checkpointed layer instance, or a selectively checkpointed attention core): the
        /// gradients ModelGen's <c>Checkpoint</c> hands back to the engine (its parameters' and its input's). Their managed
        /// wrappers are freed at the next region's recompute or forward, so the last region to run backward keeps them through the
        /// optimizer step until the next step's first checkpointed forward.
        /// </summary>
        public long ReturnedGradients { get; set; }

        public Step Clone(string path) => new()
        {
            Path = path, Weights = Weights, Gradients = Gradients, Kept = Kept, Recompute = Recompute, Temporary = Temporary, Input = Input,
            ReturnedGradients = ReturnedGradients,
        };
    }
}
