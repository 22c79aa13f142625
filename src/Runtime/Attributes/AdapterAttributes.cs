using System;

namespace ModelGen
{
    /// <summary>
    /// Low-rank adapters (Hu et al. 2021, "LoRA") on the Linear projections of a model, a layer or a block: the base weights are
    /// frozen (and may be quantized with <see cref="QuantizeAttribute"/>: QLoRA, Dettmers et al. 2023) and only the adapters train.
    /// The nearest attribute wins (model → layer → block), as for the other policies.
    /// </summary>
    /// <remarks>
    /// <para>On a model or layer class, the generated constructor ends with <c>ModelGen.Adapters.LoRA.ApplyScope(this, …)</c>
    /// (adapters on the matching projections not inside a sublayer with its own <c>[LoRA]</c>, the rest frozen), and the memory
    /// analyzers count the adapters, the frozen base and 8-bit states. On a single property it is not read in this version: put it on
    /// the class with that Linear's state name as a target (see docs/lora.md).</para>
    /// <para>Targets are PEFT's <c>target_modules</c> names, matched as suffixes of module paths: <c>q_proj</c>, <c>k_proj</c>,
    /// <c>v_proj</c>, <c>o_proj</c> inside Attention, <c>gate_proj</c>, <c>up_proj</c>, <c>down_proj</c> inside FeedForward, or the
    /// state_dict name of any <c>[Linear]</c> property.</para>
    /// </remarks>
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, Inherited = false)]
    public sealed class LoRAAttribute : Attribute
    {
        /// <summary>Adapters of rank <paramref name="rank"/> on the named projections.</summary>
        /// <param name="rank">Rank r of the update B·A (PEFT's <c>r</c>).</param>
        /// <param name="targets">Projection names (PEFT's <c>target_modules</c>); none = every Linear in scope (at run time
        /// <c>LoraOptions.TargetPattern = ".*"</c>).</param>
        public LoRAAttribute(int rank, params string[] targets)
        {
            Rank = rank;
            Targets = targets ?? Array.Empty<string>();
        }

        /// <summary>Rank r.</summary>
        public int Rank { get; }

        /// <summary>Projection names the adapters go on; empty = every Linear in scope.</summary>
        public string[] Targets { get; }

        /// <summary><c>lora_alpha</c>: the update is scaled by Alpha / Rank. Default 16 (QLoRA's setting for r = 64 is 16; PEFT's default is 8).</summary>
        public double Alpha { get; set; } = 16;

        /// <summary>Drop probability on the adapter input in training (PEFT's <c>lora_dropout</c>), in [0, 1). Default 0.</summary>
        public double Dropout { get; set; }
    }
}
