using System;
using ModelGen.Nn;
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
    public sealed class TensorParallelFeedForward : nn.Module<Tensor, Tensor>
    {
        private readonly ColumnParallelLinear? gate_proj;
        private readonly ColumnParallelLinear up_proj;
        private readonly RowParallelLinear down_proj;

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
        public TensorParallelFeedForward(long hidden, long inner, FeedForwardActivation activation, TensorParallelOptions options, string name,
            bool bias = true, double dropout = 0, ScalarType? dtype = null, Device? device = null) : base(nameof(TensorParallelFeedForward))
        {
            ArgumentNullException.ThrowIfNull(options);
            Options = options;
            Hidden = hidden;
            Inner = inner;
            Activation = activation;
            Dropout = dropout;
            if (ModelGen.Nn.FeedForward.IsGated(activation))
                gate_proj = new ColumnParallelLinear(hidden, inner, options, name + ".gate_proj", bias, false, dtype, device);
            up_proj = new ColumnParallelLinear(hidden, inner, options, name + ".up_proj", bias, false, dtype, device);
            down_proj = new RowParallelLinear(inner, hidden, options, name + ".down_proj", bias, true, dtype, device);
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

        /// <summary>Applies the block.</summary>
        /// <param name="input"><c>[batch, seq, hidden]</c>, or <c>[batch, seq/t, hidden]</c> with sequence parallelism.</param>
        /// <returns>The same shape.</returns>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            Tensor up, gate = null!;
            if (Options.SequenceParallel)
            {
                // One all-gather feeds gate and up; only the shard is kept for backward.
                var projected = gate_proj is null ? ColumnParallelLinear.ProjectShards(input, up_proj) : ColumnParallelLinear.ProjectShards(input, gate_proj, up_proj);
                up = projected[^1];
                if (gate_proj is not null) gate = projected[0];
            }
            else
            {
                var x = ColumnParallelLinear.Enter(input, Options);
                up = up_proj.ForwardLocal(x);
                if (gate_proj is not null) gate = gate_proj.ForwardLocal(x);
            }
            var activated = ModelGen.Nn.FeedForward.Activate(Activation, gate_proj is null ? null : gate, up);
            var output = down_proj.call(activated);
            output = TensorParallelRng.Dropout(output, Dropout, training, Options, perRank: Options.SequenceParallel);
            return scope.MoveToOuter(output);
        }
    }
}
