namespace ModelGen
{
    /// <summary>Storage precision of a tensor.</summary>
    public enum DType
    {
        /// <summary>32-bit IEEE float (4 bytes).</summary>
        Float32 = 0,
        /// <summary>bfloat16 (2 bytes): fp32's range, 8 bits of mantissa.</summary>
        BFloat16 = 1,
        /// <summary>IEEE half precision (2 bytes); training needs loss scaling.</summary>
        Float16 = 2,
    }

    /// <summary>What a memory budget is checked for.</summary>
    public enum Workload
    {
        /// <summary>Forward, backward and optimizer step.</summary>
        Training = 0,
        /// <summary>Prefill plus decoding with a KV cache; no gradients, no optimizer state.</summary>
        Inference = 1,
    }

    /// <summary>The optimizer whose state a training scenario holds.</summary>
    public enum Optimizer
    {
        /// <summary>AdamW: two fp32 moments per trainable parameter.</summary>
        AdamW = 0,
        /// <summary>AdamW with block-wise 8-bit moments: the runtime's <c>ModelGen.Optimizers.AdamW8Bit</c> (2 bytes per element plus block constants, docs/lora.md).</summary>
        Adam8Bit = 1,
        /// <summary>SGD with momentum: one fp32 buffer per trainable parameter.</summary>
        SgdMomentum = 2,
        /// <summary>Plain SGD: no state.</summary>
        Sgd = 3,
    }

    /// <summary>How a block's weight is split across tensor-parallel ranks.</summary>
    public enum ShardStyle
    {
        /// <summary>Not split: every rank holds the whole weight.</summary>
        None = 0,
        /// <summary>Output features split across ranks (Megatron column-parallel).</summary>
        Column = 1,
        /// <summary>Input features split across ranks; outputs all-reduced (Megatron row-parallel).</summary>
        Row = 2,
        /// <summary>Embedding rows (the vocabulary) split across ranks.</summary>
        Vocab = 3,
    }

    /// <summary>Weight-only quantization formats.</summary>
    public enum QuantKind
    {
        /// <summary>Not quantized.</summary>
        None = 0,
        /// <summary>int8 with one scale per output channel.</summary>
        Int8 = 1,
        /// <summary>int4, group-wise scale and zero point, two values per byte.</summary>
        Int4 = 2,
        /// <summary>4-bit NormalFloat with a per-block absmax (QLoRA).</summary>
        NF4 = 3,
    }

    /// <summary>Activation of a feed-forward block.</summary>
    public enum FeedForwardActivation
    {
        /// <summary><c>down(gelu(up(x)))</c> (GPT-2).</summary>
        Gelu = 0,
        /// <summary><c>down(silu(up(x)))</c>.</summary>
        Silu = 1,
        /// <summary><c>down(silu(gate(x)) * up(x))</c> (Llama).</summary>
        SwiGlu = 2,
        /// <summary><c>down(gelu(up(x)))</c> with the exact erf GELU (BERT, Hugging Face <c>"gelu"</c>); <see cref="Gelu"/> is the tanh form.</summary>
        GeluErf = 3,
        /// <summary><c>down(relu(up(x)))</c> (the original Transformer, OPT).</summary>
        Relu = 4,
        /// <summary><c>down(gelu(gate(x)) * up(x))</c> with the tanh GELU (Shazeer 2020, eq. 5; T5 v1.1's "gated-gelu").</summary>
        GeGlu = 5,
    }

    /// <summary>What an embedding table is indexed by.</summary>
    public enum EmbeddingRole
    {
        /// <summary>Token ids (the vocabulary).</summary>
        Tokens = 0,
        /// <summary>Positions 0 … count − 1: a learned position table, which caps the sequence length at its row count.</summary>
        Positions = 1,
        /// <summary>Token type (segment) ids, as BERT's <c>token_type_embeddings</c>.</summary>
        TokenTypes = 2,
    }

    /// <summary>What a model's output Linear is, and so which loss the memory model counts after it.</summary>
    public enum HeadKind
    {
        /// <summary>Logits over the vocabulary at every position, trained with cross-entropy (computed in fp32).</summary>
        LanguageModel = 0,
        /// <summary>Logits over classes for one position per sequence (a pooled or first token), trained with cross-entropy.</summary>
        Classifier = 1,
        /// <summary>A projection with no loss after it (features, embeddings): no logits or loss are counted.</summary>
        None = 2,
    }

    /// <summary>How a layer's activations are checkpointed.</summary>
    public enum CheckpointMode
    {
        /// <summary>Keep every activation autograd saves.</summary>
        None = 0,
        /// <summary>Keep only the layer's input; recompute the whole layer in backward.</summary>
        Full = 1,
        /// <summary>Keep cheap activations, recompute the attention core (Korthikanti et al. 2022, §4.2).</summary>
        Selective = 2,
    }
}
