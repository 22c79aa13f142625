using System;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// <see cref="FeedForward"/> split across the tensor-parallel ranks (Shoeybi et al. 2019, §3, Fig. 3a): <c>gate_proj</c> and
    /// <c>up_proj</c> column-parallel, the element-wise activation on each rank's <c>inner/t</c> features with no communication,
    /// <c>down_proj</c> row-parallel. One all-reduce forward and one backward per block (reduce-scatter and all-gather with sequence
    /// parallelism). State_dict names are <see cref="FeedForward"/>'s.
    /// </summary>
    /// <remarks>
    /// With a quantization each projection is a <see cref="QuantizedParallelLinear"/> holding only this rank's slice, quantized on
    /// its own: gate and up slices are whole rows (the unsharded layer's int8 rows, int4 groups, NF4 blocks); down_proj's slice is
    /// <c>inner/t</c> input columns, so int8 keeps one scale per row and rank and a group or block size must divide <c>inner/t</c> (MG0212).
    /// </remarks>
    public sealed class TensorParallelFeedForward : nn.Module<Tensor, Tensor>
    {
        // ColumnParallelLinear / RowParallelLinear, or QuantizedParallelLinear with a quantization.
        private readonly nn.Module<Tensor, Tensor>? gate_proj;
        private readonly nn.Module<Tensor, Tensor> up_proj;
        private readonly nn.Module<Tensor, Tensor> down_proj;

        /// <summary>Creates this rank's part of the block.</summary>
        /// <param name="hidden">Model width.</param>
        /// <param name="inner">Inner width of the full block; the degree must divide it.</param>
        /// <param name="activation">The activation (and whether a gate exists).</param>
        /// <param name="options">Tensor-parallel group, sequence parallelism, seed.</param>
        /// <param name="name">State_dict path of the block; seeds the initialization.</param>
        /// <param name="bias">Whether the projections have biases.</param>
        /// <param name="dropout">Drop probability of the output in training.</param>
        /// <param name="dtype">Element type of the weights.</param>
        /// <param name="device">Device of the weights.</param>
        /// <param name="quantize">Weight-only quantization of the projections (as <see cref="FeedForward"/>'s <c>quantize</c>): each
        /// becomes a <see cref="QuantizedParallelLinear"/> quantizing only this rank's slice, computing in <paramref name="dtype"/>; null = float.</param>
        /// <exception cref="ArgumentException">The degree does not divide <paramref name="inner"/>, or a quantization group does not fit a
        /// rank's slice; the message says which.</exception>
        public TensorParallelFeedForward(long hidden, long inner, FeedForwardActivation activation, TensorParallelOptions options, string name,
            bool bias = true, double dropout = 0, ScalarType? dtype = null, Device? device = null, ProjectionQuantization? quantize = null)
            : base(nameof(TensorParallelFeedForward))
        {
            ArgumentNullException.ThrowIfNull(options);
            Options = options;
            Quantization = quantize;
            Hidden = hidden;
            Inner = inner;
            Activation = activation;
            Dropout = dropout;
            if (quantize is null)
            {
                if (ModelGen.Nn.FeedForward.IsGated(activation))
                    gate_proj = new ColumnParallelLinear(hidden, inner, options, name + ".gate_proj", bias, false, dtype, device);
                up_proj = new ColumnParallelLinear(hidden, inner, options, name + ".up_proj", bias, false, dtype, device);
                down_proj = new RowParallelLinear(inner, hidden, options, name + ".down_proj", bias, true, dtype, device);
            }
            else
            {
                options.RequireDivisible(inner, $"the inner features of '{name}'");
                var compute = dtype ?? get_default_dtype();
                var columns = Shard.Even(0, inner, options.Rank, options.Degree);
                if (ModelGen.Nn.FeedForward.IsGated(activation))
                    gate_proj = new QuantizedParallelLinear(hidden, inner, ParallelLinearStyle.Column, options, name + ".gate_proj", bias, quantize, compute, false, device, columns, null);
                up_proj = new QuantizedParallelLinear(hidden, inner, ParallelLinearStyle.Column, options, name + ".up_proj", bias, quantize, compute, false, device, columns, null);
                down_proj = new QuantizedParallelLinear(inner, hidden, ParallelLinearStyle.Row, options, name + ".down_proj", bias, quantize, compute, false, device,
                    Shard.Even(1, inner, options.Rank, options.Degree), null);
            }
            RegisterComponents();
        }

        /// <summary>The options the block was built with.</summary>
        public TensorParallelOptions Options { get; }

        /// <summary>Model width.</summary>
        public long Hidden { get; }

        /// <summary>Inner width of the full block.</summary>
        public long Inner { get; }

        /// <summary>The activation.</summary>
        public FeedForwardActivation Activation { get; }

        /// <summary>Drop probability of the output in training.</summary>
        public double Dropout { get; }

        /// <summary>The quantization of the projections, or null when they are float parallel linears.</summary>
        public ProjectionQuantization? Quantization { get; }

        /// <summary>This rank's projection by its state_dict name: a float parallel linear, or a <see cref="QuantizedParallelLinear"/>.</summary>
        /// <param name="name"><c>gate_proj</c> (gated activations only), <c>up_proj</c> or <c>down_proj</c>.</param>
        /// <exception cref="ArgumentException">Another name, or <c>gate_proj</c> of a block without a gate.</exception>
        public nn.Module<Tensor, Tensor> Projection(string name) => name switch
        {
            "gate_proj" when gate_proj is not null => gate_proj,
            "up_proj" => up_proj,
            "down_proj" => down_proj,
            _ => throw new ArgumentException($"TensorParallelFeedForward ({Activation}) has projections {(gate_proj is null ? "" : "gate_proj, ")}up_proj and down_proj, not '{name}'.", nameof(name)),
        };

        /// <summary>Applies the block.</summary>
        /// <param name="input"><c>[batch, seq, hidden]</c>, or <c>[batch, seq/t, hidden]</c> with sequence parallelism.</param>
        /// <returns>The same shape.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            Tensor up, gate = null!;
            if (Options.SequenceParallel && Quantization is null)
            {
                // One all-gather feeds gate and up; only the shard is kept for backward.
                var projected = gate_proj is null
                    ? ColumnParallelLinear.ProjectShards(input, (ColumnParallelLinear)up_proj)
                    : ColumnParallelLinear.ProjectShards(input, (ColumnParallelLinear)gate_proj, (ColumnParallelLinear)up_proj);
                up = projected[^1];
                if (gate_proj is not null) gate = projected[0];
            }
            else
            {
                // Quantized projections keep no input for a weight gradient: they read the gathered input (as QuantizedParallelLinear).
                var x = ColumnParallelLinear.Enter(input, Options);
                up = TensorParallelAttention.ProjectLocal(up_proj, x);
                if (gate_proj is not null) gate = TensorParallelAttention.ProjectLocal(gate_proj, x);
            }
            var activated = ModelGen.Nn.FeedForward.Activate(Activation, gate_proj is null ? null : gate, up);
            var output = down_proj.call(activated);
            output = TensorParallelRng.Dropout(output, Dropout, training, Options, perRank: Options.SequenceParallel);
            return scope.MoveToOuter(output);
        }
    }
}
