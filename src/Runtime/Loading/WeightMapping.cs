using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace ModelGen.Loading
{
    /// <summary>One tensor a checkpoint tensor becomes in the model: its state_dict name, shape, and how to take it from the stored tensor.</summary>
    /// <param name="Target">The model's state_dict key.</param>
    /// <param name="Shape">The shape after the mapping.</param>
    /// <param name="Select">Turns the stored tensor into this target's value (a view where possible: a transpose, a slice).</param>
    /// <param name="Steps">What the mapping did, for error messages (e.g. "transposed").</param>
    public sealed record MappedWeight(string Target, long[] Shape, Func<Tensor, Tensor> Select, string Steps);

    /// <summary>
    /// How checkpoint names and layouts become a model's: an ordered list of rules (rename, skip, transpose, split) applied to
    /// each checkpoint tensor's name and shape. Rules run in the order added, each on the result of the previous ones, so a
    /// rename can prepare a name for a later transpose. Immutable: every method returns a new mapping.
    /// </summary>
    /// <example>
    /// Hugging Face Llama checkpoints into a model whose names drop the <c>model.</c> prefix:
    /// <code>WeightMapping.Identity.Rename(@"^model\.", "")</code>
    /// </example>
    public sealed class WeightMapping
    {
        private readonly IReadOnlyList<Func<List<MappedWeight>, List<MappedWeight>>> _rules;
        private readonly IReadOnlyList<string> _descriptions;

        private WeightMapping(IReadOnlyList<Func<List<MappedWeight>, List<MappedWeight>>> rules, IReadOnlyList<string> descriptions)
        {
            _rules = rules;
            _descriptions = descriptions;
        }

        /// <summary>Names and layouts kept as they are (a model whose state_dict names are the checkpoint's, e.g. Hugging Face Llama or Mistral names).</summary>
        public static WeightMapping Identity { get; } = new(Array.Empty<Func<List<MappedWeight>, List<MappedWeight>>>(), Array.Empty<string>());

        /// <summary>
        /// Hugging Face GPT-2 (<c>GPT2Model</c> / <c>GPT2LMHeadModel</c> checkpoints) into ModelGen's blocks, the layout of samples/Gpt2:
        /// the <c>transformer.</c> prefix dropped; GPT-2's <c>Conv1D</c> weights, stored <c>[in, out]</c>, transposed to Linear's
        /// <c>[out, in]</c>; the fused <c>attn.c_attn</c> split into <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c> (in that order, as
        /// GPT-2 concatenates them); <c>attn.c_proj</c> → <c>o_proj</c>, <c>mlp.c_fc</c> → <c>up_proj</c>, <c>mlp.c_proj</c> →
        /// <c>down_proj</c>; the causal-mask buffers (<c>attn.bias</c>, <c>attn.masked_bias</c>) of older checkpoints skipped.
        /// </summary>
        public static WeightMapping Gpt2 { get; } = Identity
            .Rename(@"^transformer\.", "")
            .Skip(@"^h\.\d+\.attn\.(bias|masked_bias)$")
            .Transpose(@"^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$")
            .Rename(@"\.attn\.c_proj\.", ".attn.o_proj.")
            .Rename(@"\.mlp\.c_fc\.", ".mlp.up_proj.")
            .Rename(@"\.mlp\.c_proj\.", ".mlp.down_proj.")
            .Split(@"^(h\.\d+\.attn)\.c_attn\.(weight|bias)$", 0, "$1.q_proj.$2", "$1.k_proj.$2", "$1.v_proj.$2");

        /// <summary>The rules, one line each, in order.</summary>
        public IReadOnlyList<string> Rules => _descriptions;

        /// <summary>Replaces what <paramref name="pattern"/> (a .NET regular expression) matches in each name by <paramref name="replacement"/> (<c>$1</c> etc. allowed).</summary>
        public WeightMapping Rename(string pattern, string replacement)
        {
            var regex = new Regex(pattern, RegexOptions.CultureInvariant);
            return With(parts => parts.Select(p => p with { Target = regex.Replace(p.Target, replacement) }).ToList(), $"rename /{pattern}/ → '{replacement}'");
        }

        /// <summary>Leaves out checkpoint tensors whose current name matches: neither loaded nor reported as unexpected.</summary>
        public WeightMapping Skip(string pattern)
        {
            var regex = new Regex(pattern, RegexOptions.CultureInvariant);
            return With(parts => parts.Where(p => !regex.IsMatch(p.Target)).ToList(), $"skip /{pattern}/");
        }

        /// <summary>Transposes the matching 2-D tensors (<c>[in, out]</c> ↔ <c>[out, in]</c>); a matching tensor of another rank is left alone, and then fails the shape check by name.</summary>
        public WeightMapping Transpose(string pattern)
        {
            var regex = new Regex(pattern, RegexOptions.CultureInvariant);
            return With(parts => parts.Select(p => !regex.IsMatch(p.Target) || p.Shape.Length != 2 ? p : p with
            {
                Shape = new[] { p.Shape[1], p.Shape[0] },
                Select = Compose(p.Select, t => t.t()),
                Steps = Join(p.Steps, "transposed"),
            }).ToList(), $"transpose /{pattern}/");
        }

        /// <summary>
        /// Cuts each matching tensor into <paramref name="replacements"/>.Length equal parts along <paramref name="dim"/>; part i is
        /// named by replacing the match with <paramref name="replacements"/>[i]. A size that does not divide is left whole, and then
        /// fails the model's checks by name.
        /// </summary>
        public WeightMapping Split(string pattern, int dim, params string[] replacements)
        {
            ArgumentNullException.ThrowIfNull(replacements);
            if (replacements.Length < 2)
                throw new ArgumentException("A split needs at least two parts.", nameof(replacements));
            var regex = new Regex(pattern, RegexOptions.CultureInvariant);
            int parts = replacements.Length;
            return With(list => list.SelectMany(p =>
            {
                if (!regex.IsMatch(p.Target) || dim >= p.Shape.Length || p.Shape[dim] % parts != 0)
                    return new[] { p };
                long size = p.Shape[dim] / parts;
                var shape = (long[])p.Shape.Clone();
                shape[dim] = size;
                return Enumerable.Range(0, parts).Select(i => new MappedWeight(
                    regex.Replace(p.Target, replacements[i]), shape, Compose(p.Select, t => t.narrow(dim, i * size, size)),
                    Join(p.Steps, $"part {i + 1} of {parts} along dim {dim} of '{p.Target}'"))).ToArray();
            }).ToList(), $"split /{pattern}/ along {dim} into {string.Join(", ", replacements)}");
        }

        /// <summary>The tensors one checkpoint tensor becomes (none when skipped).</summary>
        public IReadOnlyList<MappedWeight> Map(CheckpointTensor tensor)
        {
            ArgumentNullException.ThrowIfNull(tensor);
            var parts = new List<MappedWeight> { new(tensor.Name, tensor.Shape, t => t, "") };
            foreach (var rule in _rules)
                parts = rule(parts);
            return parts;
        }

        private WeightMapping With(Func<List<MappedWeight>, List<MappedWeight>> rule, string description) =>
            new(_rules.Append(rule).ToArray(), _descriptions.Append(description).ToArray());

        private static Func<Tensor, Tensor> Compose(Func<Tensor, Tensor> first, Func<Tensor, Tensor> then) => t =>
        {
            var inner = first(t);
            var result = then(inner);
            if (!ReferenceEquals(inner, t))
                inner.Dispose();
            return result;
        };

        private static string Join(string a, string b) => a.Length == 0 ? b : a + ", " + b;
    }
}
