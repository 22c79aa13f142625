namespace ModelGen.Parsing
{
    /// <summary>Metadata names of the attributes and types the parser recognizes.</summary>
    public static class KnownNames
    {
        /// <summary><c>[Model]</c>.</summary>
        public const string ModelAttribute = "ModelGen.ModelAttribute";
        /// <summary><c>[Layer]</c>.</summary>
        public const string LayerAttribute = "ModelGen.LayerAttribute";
        /// <summary><c>[Precision]</c>.</summary>
        public const string PrecisionAttribute = "ModelGen.PrecisionAttribute";
        /// <summary><c>[Checkpoint]</c>.</summary>
        public const string CheckpointAttribute = "ModelGen.CheckpointAttribute";
        /// <summary><c>[LoRA]</c>.</summary>
        public const string LoRAAttribute = "ModelGen.LoRAAttribute";
        /// <summary><c>[Frozen]</c>.</summary>
        public const string FrozenAttribute = "ModelGen.FrozenAttribute";
        /// <summary><c>[StateName]</c>.</summary>
        public const string StateNameAttribute = "ModelGen.StateNameAttribute";
        /// <summary><c>[TiedTo]</c>.</summary>
        public const string TiedToAttribute = "ModelGen.TiedToAttribute";
        /// <summary><c>[Shard]</c>.</summary>
        public const string ShardAttribute = "ModelGen.ShardAttribute";
        /// <summary><c>[Quantize]</c>.</summary>
        public const string QuantizeAttribute = "ModelGen.QuantizeAttribute";
        /// <summary><c>[VramBudget]</c>.</summary>
        public const string VramBudgetAttribute = "ModelGen.VramBudgetAttribute";
        /// <summary><c>[Linear]</c>.</summary>
        public const string LinearAttribute = "ModelGen.LinearAttribute";
        /// <summary><c>[Embedding]</c>.</summary>
        public const string EmbeddingAttribute = "ModelGen.EmbeddingAttribute";
        /// <summary><c>[LayerNorm]</c>.</summary>
        public const string LayerNormAttribute = "ModelGen.LayerNormAttribute";
        /// <summary><c>[RmsNorm]</c>.</summary>
        public const string RmsNormAttribute = "ModelGen.RmsNormAttribute";
        /// <summary><c>[Dropout]</c>.</summary>
        public const string DropoutAttribute = "ModelGen.DropoutAttribute";
        /// <summary><c>[Attention]</c>.</summary>
        public const string AttentionAttribute = "ModelGen.AttentionAttribute";
        /// <summary><c>[FeedForward]</c>.</summary>
        public const string FeedForwardAttribute = "ModelGen.FeedForwardAttribute";
        /// <summary><c>[Sublayer]</c>.</summary>
        public const string SublayerAttribute = "ModelGen.SublayerAttribute";
        /// <summary><c>[MixtureOfExperts]</c>.</summary>
        public const string MixtureOfExpertsAttribute = "ModelGen.MixtureOfExpertsAttribute";
        /// <summary><c>[Pooler]</c>.</summary>
        public const string PoolerAttribute = "ModelGen.PoolerAttribute";
        /// <summary><c>[Head]</c>.</summary>
        public const string HeadAttribute = "ModelGen.HeadAttribute";
        /// <summary><c>[Stack]</c>.</summary>
        public const string StackAttribute = "ModelGen.StackAttribute";
        /// <summary><c>[CrossAttention]</c> (docs/encoder-decoder.md).</summary>
        public const string CrossAttentionAttribute = "ModelGen.CrossAttentionAttribute";
        /// <summary><c>[RelativeAttention]</c> (docs/encoder-decoder.md).</summary>
        public const string RelativeAttentionAttribute = "ModelGen.RelativeAttentionAttribute";

        /// <summary>TorchSharp's <c>Module&lt;Tensor, Tensor&gt;</c> (open generic metadata name).</summary>
        public const string ModuleOfT = "TorchSharp.torch+nn+Module`2";
        /// <summary>TorchSharp's <c>Tensor</c>.</summary>
        public const string Tensor = "TorchSharp.torch+Tensor";
        /// <summary>TorchSharp's <c>ModuleList&lt;T&gt;</c>.</summary>
        public const string ModuleList = "TorchSharp.Modules.ModuleList`1";
    }
}
