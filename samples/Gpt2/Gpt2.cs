using System;
using ModelGen;
using ModelGen.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gpt2Sample;

/// <summary>
/// GPT-2 (Radford et al. 2019): token and learned position embeddings, pre-norm decoder blocks, a final LayerNorm and an
/// output head that shares the token embedding's weight. Dropout 0.1 on the embeddings, the attention probabilities and
/// each residual branch, as in the released model's config (embd_pdrop, attn_pdrop, resid_pdrop).
/// </summary>
[Model(typeof(Gpt2Config))]
[VramBudget(24, SequenceLength = 1024, Batch = 4, Workload = Workload.Training, Optimizer = Optimizer.AdamW)]
public partial class Gpt2
{
    /// <summary>Token embedding; also the output head's weight.</summary>
    [Embedding(nameof(Gpt2Config.Vocab), nameof(Gpt2Config.Hidden))] public partial Embedding Wte { get; }

    /// <summary>Learned absolute position embedding: one row per position, so sequences are at most Context tokens (MG0540 past it).</summary>
    [Embedding(nameof(Gpt2Config.Context), nameof(Gpt2Config.Hidden), Role = EmbeddingRole.Positions)] public partial Embedding Wpe { get; }

    /// <summary>Dropout on the summed embeddings.</summary>
    [Dropout(0.1)] public partial Dropout Drop { get; }

    /// <summary>The decoder blocks.</summary>
    [Stack(nameof(Gpt2Config.Layers))] public partial ModuleList<Gpt2Block> H { get; }

    /// <summary>Final LayerNorm.</summary>
    [LayerNorm(nameof(Gpt2Config.Hidden)), StateName("ln_f")] public partial LayerNorm LnF { get; }

    /// <summary>Output head, tied to <see cref="Wte"/>: no weight of its own.</summary>
    [Linear(nameof(Gpt2Config.Hidden), nameof(Gpt2Config.Vocab), Bias = false), TiedTo(nameof(Wte))] public partial Linear LMHead { get; }

    /// <summary>
    /// GPT-2's initialization (Radford et al. 2019, §2.3, and the released code): linear and embedding weights from N(0, 0.02²),
    /// biases zero, LayerNorms at identity, and the output projection of each residual branch scaled by 1/√(2·layers), since
    /// every block adds two branches to the residual stream. TorchSharp's defaults (N(0, 1) embeddings) would start the tied
    /// head with logits of standard deviation √width.
    /// </summary>
    public void InitializeWeights()
    {
        const double Std = 0.02;
        var residualStd = Std / Math.Sqrt(2.0 * H.Count);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal))
                parameter.zero_();
            else if (name.StartsWith("ln_f.", StringComparison.Ordinal) || name.Contains(".ln_", StringComparison.Ordinal))
                parameter.fill_(1.0);
            else if (name.EndsWith("o_proj.weight", StringComparison.Ordinal) || name.EndsWith("down_proj.weight", StringComparison.Ordinal))
                parameter.normal_(0, residualStd);
            else
                parameter.normal_(0, Std);
        }
    }

    private Tensor Forward(Tensor tokens)
    {
        // 0 … s−1; during cached decoding, the positions of the new tokens, so the learned table continues across calls.
        var positions = TokenPositions(tokens);
        var x = Drop.call(Wte.call(tokens) + Wpe.call(positions));
        foreach (var block in H)
            x = block.call(x);
        return LMHead.call(LnF.call(x));
    }
}

/// <summary>One GPT-2 block: LayerNorm → multi-head causal attention (eager, with biases) → residual; LayerNorm → GELU MLP → residual.</summary>
[Layer(typeof(Gpt2Config))]
public partial class Gpt2Block
{
    /// <summary>LayerNorm before attention.</summary>
    [LayerNorm(nameof(Gpt2Config.Hidden)), StateName("ln_1")] public partial LayerNorm Ln1 { get; }

    /// <summary>Causal multi-head attention with biased projections and dropout on its probabilities.</summary>
    [Attention(nameof(Gpt2Config.Hidden), nameof(Gpt2Config.Heads), Fused = false, Bias = true, Dropout = 0.1)]
    public partial Attention Attn { get; }

    /// <summary>LayerNorm before the MLP.</summary>
    [LayerNorm(nameof(Gpt2Config.Hidden)), StateName("ln_2")] public partial LayerNorm Ln2 { get; }

    /// <summary>The GELU (tanh approximation) MLP, with biases.</summary>
    [FeedForward(nameof(Gpt2Config.Hidden), nameof(Gpt2Config.Ffn), Activation = FeedForwardActivation.Gelu, Bias = true)]
    public partial FeedForward Mlp { get; }

    /// <summary>Dropout on each residual branch's output.</summary>
    [Dropout(0.1)] public partial Dropout ResidDrop { get; }

    private Tensor Forward(Tensor x)
    {
        x = x + ResidDrop.call(Attn.call(Ln1.call(x)));
        return x + ResidDrop.call(Mlp.call(Ln2.call(x)));
    }
}
