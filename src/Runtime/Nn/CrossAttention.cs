using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// Encoder–decoder attention (Vaswani et al. 2017, §3.2.3; T5's <c>EncDecAttention</c>): queries from the decoder stream, keys and
    /// values from the encoder output, no mask, so each decoder position sees every encoder position. Projections <c>q_proj</c>,
    /// <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>. The encoder output may have another length than the decoder input.
    /// </summary>
    /// <remarks>
    /// During generation the encoder output is the same at every step: <see cref="Remember"/> computes its keys and values once, and
    /// while they are remembered every call with that memory tensor reuses them (see docs/encoder-decoder.md).
    /// TorchSharp's <c>scaled_dot_product_attention</c> has no <c>scale</c> argument, so an unscaled block (T5) multiplies the queries
    /// by <c>√headDim</c> before the fused kernel, which divides by it.
    /// </remarks>
    public sealed class CrossAttention : nn.Module<Tensor, Tensor, Tensor>
    {
        [ComponentName(Name = "q_proj")]
        private readonly Linear _qProj;
        [ComponentName(Name = "k_proj")]
        private readonly Linear _kProj;
        [ComponentName(Name = "v_proj")]
        private readonly Linear _vProj;
        [ComponentName(Name = "o_proj")]
        private readonly Linear _oProj;

        // Not Modules or Parameters, so RegisterComponents leaves them out of the state_dict.
        private Tensor? _rememberedMemory;
        private Tensor? _rememberedKeys;
        private Tensor? _rememberedValues;

        /// <summary>Creates the block and its four projections.</summary>
        /// <param name="hidden">Width of the decoder stream and of the encoder output.</param>
        /// <param name="heads">Heads; must divide <paramref name="hidden"/>.</param>
        /// <param name="scaled">Scale scores by <c>1/√headDim</c> (false for T5).</param>
        /// <param name="fused">Run the core through <c>scaled_dot_product_attention</c>.</param>
        /// <param name="bias">Biases on the projections.</param>
        /// <param name="dropout">Drop probability of attention weights in training, in [0, 1).</param>
        /// <param name="dtype">Element type of the weights; the default dtype when null.</param>
        /// <param name="device">Device of the weights; the default device when null.</param>
        /// <exception cref="ArgumentException">A size does not divide or a value is out of range.</exception>
        public CrossAttention(long hidden, long heads, bool scaled = true, bool fused = true, bool bias = false, double dropout = 0, ScalarType? dtype = null, Device? device = null)
            : base(nameof(CrossAttention))
        {
            HeadDim = EagerCore.CheckSizes(nameof(CrossAttention), hidden, heads, dropout);
            Hidden = hidden;
            Heads = heads;
            Scaled = scaled;
            Fused = fused;
            Dropout = dropout;
            _qProj = nn.Linear(hidden, hidden, hasBias: bias, device: device, dtype: dtype);
            _kProj = nn.Linear(hidden, hidden, hasBias: bias, device: device, dtype: dtype);
            _vProj = nn.Linear(hidden, hidden, hasBias: bias, device: device, dtype: dtype);
            _oProj = nn.Linear(hidden, hidden, hasBias: bias, device: device, dtype: dtype);
            RegisterComponents();
        }

        /// <summary>Model width.</summary>
        public long Hidden { get; }

        /// <summary>Heads.</summary>
        public long Heads { get; }

        /// <summary>Features per head.</summary>
        public long HeadDim { get; }

        /// <summary>Whether scores are scaled by <c>1/√headDim</c>.</summary>
        public bool Scaled { get; }

        /// <summary>Whether the core runs through <c>scaled_dot_product_attention</c>.</summary>
        public bool Fused { get; }

        /// <summary>Drop probability of attention weights in training.</summary>
        public double Dropout { get; }

        /// <summary>Query projection.</summary>
        public Linear q_proj => _qProj;

        /// <summary>Key projection (reads the encoder output).</summary>
        public Linear k_proj => _kProj;

        /// <summary>Value projection (reads the encoder output).</summary>
        public Linear v_proj => _vProj;

        /// <summary>Output projection.</summary>
        public Linear o_proj => _oProj;

        /// <summary>
        /// Computes the keys and values of <paramref name="memory"/> once, without autograd, and reuses them for every later call with
        /// this same tensor until the returned handle is disposed (a generation loop over an unchanged encoder output).
        /// </summary>
        /// <param name="memory">The encoder output, <c>[batch, encoderSeq, hidden]</c>.</param>
        /// <returns>Disposing it forgets the keys and values.</returns>
        /// <exception cref="ArgumentException"><paramref name="memory"/> is not <c>[batch, seq, hidden]</c>.</exception>
        /// <exception cref="InvalidOperationException">Another memory is already remembered.</exception>
        public IDisposable Remember(Tensor memory)
        {
            EagerCore.CheckInput(nameof(CrossAttention), "memory", memory, Hidden, nameof(memory));
            if (_rememberedMemory is not null)
                throw new InvalidOperationException("CrossAttention already remembers an encoder output; dispose its handle first.");
            using (torch.no_grad())
            {
                _rememberedKeys = EagerCore.SplitHeads(_kProj.call(memory), Heads, HeadDim).contiguous().DetachFromDisposeScope();
                _rememberedValues = EagerCore.SplitHeads(_vProj.call(memory), Heads, HeadDim).contiguous().DetachFromDisposeScope();
            }
            _rememberedMemory = memory;
            return new Forget(this);
        }

        /// <summary>
        /// <see cref="Remember"/> on every <see cref="CrossAttention"/> inside <paramref name="model"/> (a decoder stack, or a whole
        /// encoder–decoder model whose decoding loop passes this same <paramref name="memory"/> tensor to its decoder layers).
        /// </summary>
        /// <param name="model">The module to search, itself included.</param>
        /// <param name="memory">The encoder output, <c>[batch, encoderSeq, hidden]</c>.</param>
        /// <returns>Disposing it forgets every remembered key and value.</returns>
        /// <exception cref="ArgumentException"><paramref name="model"/> has no cross-attention, or <paramref name="memory"/> has the wrong shape.</exception>
        public static IDisposable RememberAll(nn.Module model, Tensor memory)
        {
            ArgumentNullException.ThrowIfNull(model);
            var blocks = new[] { model }.Concat(model.modules()).OfType<CrossAttention>().Distinct().ToList();
            if (blocks.Count == 0)
                throw new ArgumentException($"'{model.GetName()}' has no CrossAttention block to remember an encoder output for.", nameof(model));
            var handles = new List<IDisposable>();
            try
            {
                foreach (var block in blocks)
                    handles.Add(block.Remember(memory));
            }
            catch
            {
                foreach (var handle in handles)
                    handle.Dispose();
                throw;
            }
            return new ForgetAll(handles);
        }

        /// <summary>Whether keys and values of an encoder output are remembered (<see cref="Remember"/>).</summary>
        public bool RemembersMemory => _rememberedMemory is not null;

        /// <summary>Attends from <paramref name="input"/> to <paramref name="memory"/>.</summary>
        /// <param name="input">Decoder stream, <c>[batch, seq, hidden]</c>.</param>
        /// <param name="memory">Encoder output, <c>[batch, encoderSeq, hidden]</c>.</param>
        /// <returns><c>[batch, seq, hidden]</c>.</returns>
        /// <exception cref="ArgumentException">A shape does not match.</exception>
        public override Tensor forward(Tensor input, Tensor memory)
        {
            EagerCore.CheckInput(nameof(CrossAttention), "input", input, Hidden, nameof(input));
            EagerCore.CheckInput(nameof(CrossAttention), "memory", memory, Hidden, nameof(memory));
            if (memory.shape[0] != input.shape[0])
                throw new ArgumentException($"CrossAttention: input has batch {input.shape[0]} but memory has batch {memory.shape[0]}.", nameof(memory));

            using var scope = torch.NewDisposeScope();
            var q = EagerCore.SplitHeads(_qProj.call(input), Heads, HeadDim);
            Tensor k, v;
            if (_rememberedMemory is not null && ReferenceEquals(memory, _rememberedMemory))
            {
                k = _rememberedKeys!.alias();
                v = _rememberedValues!.alias();
            }
            else
            {
                k = EagerCore.SplitHeads(_kProj.call(memory), Heads, HeadDim);
                v = EagerCore.SplitHeads(_vProj.call(memory), Heads, HeadDim);
            }
            var dropout = training ? Dropout : 0.0;
            Tensor core;
            if (Fused)
            {
                // The kernel divides by √headDim; an unscaled block undoes that on the queries (TorchSharp's SDPA takes no scale).
                var queries = Scaled ? q : q.mul(Math.Sqrt(HeadDim));
                core = nn.functional.scaled_dot_product_attention(queries, k, v, attn_mask: null, p: dropout, is_casual: false);
            }
            else
            {
                core = EagerCore.Run(q, k, v, null, Scaled ? 1.0 / Math.Sqrt(HeadDim) : 1.0, causal: false, dropout);
            }
            return scope.MoveToOuter(_oProj.call(EagerCore.MergeHeads(core)));
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            if (disposing)
                ForgetMemory();
            base.Dispose(disposing);
        }

        private void ForgetMemory()
        {
            _rememberedKeys?.Dispose();
            _rememberedValues?.Dispose();
            _rememberedKeys = null;
            _rememberedValues = null;
            _rememberedMemory = null;
        }

        private sealed class ForgetAll : IDisposable
        {
            private readonly List<IDisposable> _handles;

            public ForgetAll(List<IDisposable> handles) => _handles = handles;

            public void Dispose()
            {
                foreach (var handle in _handles)
                    handle.Dispose();
                _handles.Clear();
            }
        }

        private sealed class Forget : IDisposable
        {
            private CrossAttention? _owner;

            public Forget(CrossAttention owner) => _owner = owner;

            public void Dispose()
            {
                _owner?.ForgetMemory();
                _owner = null;
            }
        }
    }
}
