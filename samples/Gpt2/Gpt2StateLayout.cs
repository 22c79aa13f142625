using System;
using System.Collections.Generic;

namespace Gpt2Sample;

/// <summary>
/// The state_dict key names of <see cref="Gpt2"/>, as docs/samples.md documents them: GPT-2's own names where ModelGen's
/// blocks have one (<c>wte</c>, <c>wpe</c>, <c>h.{i}.ln_1</c>, <c>ln_f</c>, <c>lm_head</c>), and the separate
/// <c>q_proj</c>/<c>k_proj</c>/<c>v_proj</c>/<c>o_proj</c> and <c>up_proj</c>/<c>down_proj</c> projections of ModelGen's
/// attention and feed-forward blocks where GPT-2 has a fused <c>c_attn</c> and <c>c_fc</c>/<c>c_proj</c>.
/// </summary>
public static class Gpt2StateLayout
{
    /// <summary>Every key of a <see cref="Gpt2"/> built with <paramref name="config"/>, sorted ordinally.</summary>
    /// <param name="config">The sizes; only <see cref="Gpt2Config.Layers"/> changes the key set.</param>
    /// <exception cref="ArgumentNullException"><paramref name="config"/> is null.</exception>
    public static IReadOnlyList<string> Keys(Gpt2Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var keys = new List<string> { "wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias", "lm_head.weight" };
        for (var i = 0; i < config.Layers; i++)
        {
            foreach (var norm in new[] { "ln_1", "ln_2" })
                keys.AddRange(new[] { $"h.{i}.{norm}.weight", $"h.{i}.{norm}.bias" });
            foreach (var projection in new[] { "attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.o_proj", "mlp.up_proj", "mlp.down_proj" })
                keys.AddRange(new[] { $"h.{i}.{projection}.weight", $"h.{i}.{projection}.bias" });
        }
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }
}
