using System;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// The precision policy: which dtype a block stores its weights in, and the few ops that must compute in fp32
    /// whatever the storage precision is.
    /// </summary>
    /// <remarks>
    /// TorchSharp has no autocast, so generated code casts explicitly. Reductions over many terms (softmax's normalizer,
    /// the log-sum-exp inside cross-entropy) lose most of their digits in bf16's 8-bit mantissa, which is why mixed-precision
    /// recipes keep them in fp32 (Micikevicius et al. 2018, "Mixed Precision Training", §3.3).
    /// </remarks>
    public static class Precision
    {
        /// <summary>The TorchSharp element type of <paramref name="dtype"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined <see cref="DType"/>.</exception>
        public static ScalarType ToScalarType(DType dtype) => dtype switch {
            DType.Float32 => ScalarType.Float32,
            DType.BFloat16 => ScalarType.BFloat16,
            DType.Float16 => ScalarType.Float16,
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"{dtype} is not a ModelGen DType (Float32, BFloat16, Float16)."),
        };

        /// <summary>
        /// The precision of a block: its own <c>[Precision]</c>, else its layer's, else the enclosing model's or layer's;
        /// fp32 when none is declared (attributes inherit, the nearest wins).
        /// </summary>
        /// <param name="block">The block's own attribute, if any.</param>
        /// <param name="layer">The declaring layer's attribute, if any.</param>
        /// <param name="parent">The resolved precision of the enclosing layer or model, if any.</param>
        /// <exception cref="ArgumentOutOfRangeException">A given value is not a defined <see cref="DType"/>.</exception>
        public static DType Resolve(DType? block, DType? layer, DType? parent)
        {
            Check(block, nameof(block));
            Check(layer, nameof(layer));
            Check(parent, nameof(parent));
            return block ?? layer ?? parent ?? DType.Float32;
        }

        /// <summary>
        /// The input a generated layer's forward works on: a floating-point tensor in another precision is cast to the layer's
        /// storage precision (so a bf16 layer accepts fp32 activations); integer tensors (token ids, positions) pass unchanged.
        /// </summary>
        /// <param name="input">The tensor passed to <c>forward</c>.</param>
        /// <param name="storage">The layer's storage precision.</param>
        public static Tensor CastFloatingInput(Tensor input, DType storage)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (!input.is_floating_point())
                return input;
            var target = ToScalarType(storage);
            return input.dtype == target ? input : input.to_type(target);
        }

        /// <summary>Softmax computed in fp32 and returned in <paramref name="x"/>'s dtype (the attention probabilities).</summary>
        /// <param name="x">Floating-point scores.</param>
        /// <param name="dim">The dimension that sums to one.</param>
        /// <exception cref="ArgumentException"><paramref name="x"/> is not floating-point.</exception>
        public static Tensor SoftmaxFp32(Tensor x, long dim)
        {
            ArgumentNullException.ThrowIfNull(x);
            if (!x.is_floating_point())
                throw new ArgumentException($"SoftmaxFp32 needs floating-point scores, got {x.dtype}.", nameof(x));
            if (x.dtype is ScalarType.Float32 or ScalarType.Float64)
                return x.softmax(dim);
            // softmax's dtype argument upcasts before the reduction, without materializing an fp32 copy of x first.
            using var probabilities = x.softmax(dim, ScalarType.Float32);
            return probabilities.to_type(x.dtype);
        }

        /// <summary>
        /// Mean cross-entropy computed in fp32 (the loss and its log-sum-exp never round to 16 bits); returns an fp32 scalar.
        /// Logits are <c>[N, C]</c> or <c>[..., C]</c> (e.g. <c>[batch, seq, vocab]</c>), flattened to rows; targets hold
        /// class indices of the leading shape; index -100 is ignored.
        /// </summary>
        /// <param name="logits">Unnormalized scores, last dimension the classes.</param>
        /// <param name="targets">Integer class indices, shape of <paramref name="logits"/> without its last dimension.</param>
        /// <exception cref="ArgumentException">Shapes or dtypes do not fit.</exception>
        public static Tensor CrossEntropyFp32(Tensor logits, Tensor targets)
        {
            ArgumentNullException.ThrowIfNull(logits);
            ArgumentNullException.ThrowIfNull(targets);
            if (!logits.is_floating_point())
                throw new ArgumentException($"CrossEntropyFp32 needs floating-point logits, got {logits.dtype}.", nameof(logits));
            if (logits.dim() < 2)
                throw new ArgumentException($"CrossEntropyFp32 needs logits of shape [N, C] or [..., C], got [{string.Join(", ", logits.shape)}].", nameof(logits));
            if (targets.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
                throw new ArgumentException($"CrossEntropyFp32 needs integer class indices as targets, got {targets.dtype}.", nameof(targets));
            var leading = logits.shape[..^1];
            if (!targets.shape.AsSpan().SequenceEqual(leading))
                throw new ArgumentException(
                    $"CrossEntropyFp32: targets [{string.Join(", ", targets.shape)}] must have the logits' shape without the class dimension, [{string.Join(", ", leading)}].",
                    nameof(targets));

            var classes = logits.shape[^1];
            using var scope = NewDisposeScope();
            var rows = logits.reshape(-1, classes).to_type(ScalarType.Float32);
            var labels = targets.reshape(-1).to_type(ScalarType.Int64);
            return scope.MoveToOuter(nn.functional.cross_entropy(rows, labels));
        }

        private static void Check(DType? value, string name)
        {
            if (value is DType dtype && !Enum.IsDefined(dtype))
                throw new ArgumentOutOfRangeException(name, dtype, $"{dtype} is not a ModelGen DType (Float32, BFloat16, Float16).");
        }
    }
}
