using System;
using System.Collections.Generic;
using ModelGen.Distributed;
using ModelGen.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// Trains this rank's part of a model as a <see cref="TrainingPlan"/> says: builds the <see cref="ParallelGrid"/> (which
    /// refuses a world that is not tensor-parallel × data-parallel ranks), the model through the caller's factory, the optimizer with
    /// the plan's ZeRO stage and offload, and <see cref="DistributedDataParallel"/> for plain data parallelism. Each
    /// <see cref="Step"/> splits this rank's batch into micro-batches, accumulates their gradients (communicating once), computes
    /// the loss in fp32, runs backward through <see cref="BackwardFailures.Backward"/>, steps, and reports a
    /// <see cref="TrainingProgress"/> (tokens/s, loss averaged over the data-parallel ranks, measured peak memory).
    /// </summary>
    /// <remarks>
    /// ZeRO stage 3 (and <see cref="TrainingPlan.OffloadParameters"/>, which keeps its partitions on the host) partitions the
    /// model with <see cref="ZeroStage3"/>: each repeated layer (<see cref="ZeroStage3.RepeatedLayers"/>, a generated model's
    /// <c>[Stack]</c>) is one unit, gathered around its forward and backward through the hook generated layers call
    /// (<see cref="ZeroRouting"/>); the rest of the model is gathered for the whole step. The model's parameters hold no values
    /// between steps: see <see cref="Zero"/> to gather them for evaluation or to load weights.
    /// </remarks>
    public sealed class PlanTraining : IDisposable
    {
        private readonly DistributedDataParallel? _ddp;
        private readonly TrainingProgressTracker? _tracker;
        private bool _disposed;

        /// <summary>
        /// Sets up training for <paramref name="plan"/> on <paramref name="world"/>.
        /// </summary>
        /// <param name="plan">The parallel settings (the model's <c>[ParallelPlan]</c>).</param>
        /// <param name="world">All ranks of the job (<see cref="World.Group"/>).</param>
        /// <param name="buildModel">Builds this rank's shard of the model for the grid (a generated model: <c>new M(config, grid: grid)</c>).</param>
        /// <param name="createOptimizer">Creates the optimizer over the parameters with the settings this class derives from the plan.</param>
        /// <param name="loss">The loss of fp32 outputs against targets (mean over the rows it is given).</param>
        /// <param name="microBatches">Micro-batches per step (gradient accumulation); the batch's rows must divide by it.</param>
        /// <param name="progress">Where each step's report goes; null for none.</param>
        /// <param name="totalSteps">Steps planned, for the reports' fraction; 0 when open-ended.</param>
        /// <param name="monitor">Measures peak memory for the reports; null for none.</param>
        /// <param name="lossScaler">Dynamic loss scaling (fp16 weights): each micro-batch's loss is scaled before backward, and the
        /// optimizer unscales the gradients and skips a step that overflowed on any rank (tensor- and data-parallel); null for none.</param>
        /// <exception cref="ArgumentException">A bad plan value or a micro-batch count below 1.</exception>
        /// <exception cref="InvalidOperationException">The world's size is not the plan's (from <see cref="ParallelGrid.Create"/>).</exception>
        /// <exception cref="NotSupportedException">Parameter offload without ZeRO stage 3.</exception>
        public PlanTraining(TrainingPlan plan, ProcessGroup world, Func<ParallelGrid, nn.Module<Tensor, Tensor>> buildModel,
            Func<IEnumerable<Parameter>, OptimizerSettings, TrainingOptimizer> createOptimizer, Func<Tensor, Tensor, Tensor> loss,
            int microBatches = 1, IProgress<TrainingProgress>? progress = null, long totalSteps = 0, MemoryMonitor? monitor = null,
            LossScaler? lossScaler = null)
        {
            ArgumentNullException.ThrowIfNull(plan);
            ArgumentNullException.ThrowIfNull(world);
            ArgumentNullException.ThrowIfNull(buildModel);
            ArgumentNullException.ThrowIfNull(createOptimizer);
            ArgumentNullException.ThrowIfNull(loss);
            plan.Validate();
            if (microBatches < 1) throw new ArgumentException($"The number of micro-batches must be at least 1, not {microBatches}.", nameof(microBatches));
            if (plan.OffloadParameters && plan.ZeroStage != 3)
                throw new NotSupportedException(
                    $"The plan asks for OffloadParameters with ZeRO stage {plan.ZeroStage}: parameters are streamed from the host only by the " +
                    "ZeRO stage 3 engine, which gathers one layer at a time. Plan ZeroStage = 3 with it.");
            Plan = plan;
            MicroBatches = microBatches;
            Loss = loss;
            LossScaler = lossScaler;
            Grid = ParallelGrid.Create(world, plan.TensorParallel, plan.DataParallel);
            try
            {
                Model = buildModel(Grid) ?? throw new InvalidOperationException("The model factory returned null.");
                Model.train();
                // ZeRO 3 over one data-parallel rank partitions nothing (the analyzers' MG0205): the model trains whole, unless its
                // parameters are offloaded, which only the ZeRO-3 engine streams.
                var zeroThree = plan.ZeroStage == 3 && (plan.DataParallel > 1 || plan.OffloadParameters);
                var settings = new OptimizerSettings
                {
                    DataParallel = Grid.DataParallel, ZeroStage = plan.ZeroStage == 3 && !zeroThree ? 0 : plan.ZeroStage, OffloadToHost = plan.OffloadOptimizer,
                    TensorParallel = Grid.TensorParallel,
                    // Each slice and each replicated parameter counts once in a clipped norm (ZeRO 3's partitions excepted: refused).
                    TensorParallelCopies = plan.TensorParallel > 1 && !zeroThree ? Parallel.TensorParallelState.CopiesOf(Model, plan.TensorParallel) : null,
                };
                // ZeRO 1/2 reduce the gradients inside the optimizer step; plain data parallelism averages them with DDP's buckets.
                if (plan.ZeroStage == 0 && plan.DataParallel > 1)
                    _ddp = new DistributedDataParallel(Model, Grid.DataParallel);
                // ZeRO 3 partitions the parameters themselves; the optimizer steps this rank's partitions.
                if (zeroThree)
                    Zero = new ZeroStage3(Model, ZeroStage3.RepeatedLayers(Model), Grid.DataParallel, plan.OffloadParameters);
                Optimizer = createOptimizer(Zero?.Partitions ?? Model.parameters(), settings) ?? throw new InvalidOperationException("The optimizer factory returned null.");
            }
            catch
            {
                Zero?.Dispose();
                _ddp?.Dispose();
                Grid.Dispose();
                throw;
            }
            if (progress is not null)
                _tracker = new TrainingProgressTracker(progress, totalSteps, monitor, world.Rank);
        }

        /// <summary>The plan this run follows.</summary>
        public TrainingPlan Plan { get; }

        /// <summary>The tensor- and data-parallel groups of this rank.</summary>
        public ParallelGrid Grid { get; }

        /// <summary>This rank's shard of the model.</summary>
        public nn.Module<Tensor, Tensor> Model { get; }

        /// <summary>
        /// The ZeRO stage 3 engine under a stage-3 plan, else null. Between steps the model's parameters are empty: call
        /// <see cref="ZeroStage3.GatherAll"/> (every rank) to evaluate or compare, then <see cref="ZeroStage3.ReleaseAll"/>;
        /// <see cref="ZeroStage3.LoadParameters"/> loads whole weights into the partitions.
        /// </summary>
        public ZeroStage3? Zero { get; }

        /// <summary>The optimizer, with the plan's ZeRO stage and offload.</summary>
        public TrainingOptimizer Optimizer { get; }

        /// <summary>Micro-batches per step.</summary>
        public int MicroBatches { get; }

        private Func<Tensor, Tensor, Tensor> Loss { get; }

        /// <summary>The loss scaler of an fp16 run, else null; its <see cref="LossScaler.SkippedSteps"/> counts the steps that overflowed.</summary>
        public LossScaler? LossScaler { get; }

        /// <summary>
        /// One optimizer step on this data-parallel rank's batch (rows along dimension 0; tensor-parallel ranks of one group pass
        /// the same rows). Returns the step's loss averaged over the micro-batches and the data-parallel ranks.
        /// </summary>
        /// <param name="input">This rank's batch.</param>
        /// <param name="target">Its targets, rows matching <paramref name="input"/>.</param>
        /// <param name="tokens">Tokens in this rank's batch, for the progress report (default: the input's element count).</param>
        /// <exception cref="ArgumentException">The rows do not divide into the micro-batches, or input and target rows differ.</exception>
        public double Step(Tensor input, Tensor target, long? tokens = null)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(target);
            var rows = input.shape[0];
            if (target.shape[0] != rows)
                throw new ArgumentException($"The input has {rows} rows but the target {target.shape[0]}.", nameof(target));
            if (rows % MicroBatches != 0)
                throw new ArgumentException($"The batch's {rows} rows do not split into {MicroBatches} equal micro-batches.", nameof(input));
            var size = rows / MicroBatches;
            using var scope = NewDisposeScope();
            var total = zeros(1, dtype: ScalarType.Float64);
            for (var i = 0; i < MicroBatches; i++)
            {
                // All micro-batches but the last accumulate locally; the last one's backward starts the gradient exchange.
                using (i < MicroBatches - 1 ? _ddp?.NoSync() : null)
                {
                    var output = Forward(input.narrow(0, i * size, size));
                    var value = Loss(output.to_type(ScalarType.Float32), target.narrow(0, i * size, size));
                    // fp16: the scaled loss keeps small gradients above fp16's underflow; the optimizer divides the scale out again.
                    var backward = LossScaler is null ? value / MicroBatches : LossScaler.Scale(value / MicroBatches);
                    if (Zero is null)
                        BackwardFailures.Backward(backward);
                    else
                        Zero.Backward(backward); // reduce-scatters every micro-batch's gradients into the partitions
                    total.add_(value.detach().to_type(ScalarType.Float64).reshape(1).cpu());
                }
            }
            _ddp?.SynchronizeGradients();
            Optimizer.Step(LossScaler); // frees every gradient, so the next step accumulates from zero
            total.div_(MicroBatches);
            Grid.DataParallel.AllReduce(total, ReduceOp.Average);
            var loss = total.item<double>();
            _tracker?.StepCompleted(tokens ?? input.numel(), loss);
            return loss;
        }

        private Tensor Forward(Tensor input)
        {
            if (Zero is null)
                return Model.call(input);
            Zero.BeginForward();
            try {
                return Model.call(input);
            } catch (Exception e) when (Zero.ExplainUnroutedLayers() is { } explanation) {
                throw new InvalidOperationException(explanation, e);
            }
        }

        /// <summary>
        /// Writes a checkpoint to resume training from (every rank calls it, between steps): this rank's share of the parameters,
        /// the buffers and the optimizer's state (moments, fp32 master copies, step counts) as a <see cref="ShardedCheckpoint"/>,
        /// which <see cref="LoadCheckpoint"/> reads on any number of data-parallel ranks and <see cref="ShardedCheckpoint.Load"/>
        /// merges into a plain model.
        /// </summary>
        /// <param name="directory">The checkpoint folder, shared by the ranks.</param>
        /// <exception cref="NotSupportedException">The plan is tensor-parallel (each tensor-parallel rank's slices would need files of their own).</exception>
        public void SaveCheckpoint(string directory)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ThrowIfTensorParallel();
            var slices = Zero is { } zero ? zero.ShardedState(Optimizer) : ShardedCheckpoint.ReplicatedState(Model, Grid.DataParallel, Optimizer);
            ShardedCheckpoint.Save(directory, slices, Grid.DataParallel);
        }

        /// <summary>
        /// Resumes from a checkpoint <see cref="SaveCheckpoint"/> wrote, whatever the data-parallel size and ZeRO stage that wrote it:
        /// loads the parameters, buffers and this rank's ranges of the optimizer state, so the next <see cref="Step"/> continues the
        /// same trajectory. Every rank calls it before its first step.
        /// </summary>
        /// <param name="directory">The checkpoint folder.</param>
        /// <exception cref="System.IO.InvalidDataException">The checkpoint is incomplete, or lacks a parameter or the optimizer's state.</exception>
        /// <exception cref="NotSupportedException">The plan is tensor-parallel.</exception>
        public void LoadCheckpoint(string directory)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ThrowIfTensorParallel();
            var state = ShardedCheckpoint.LoadStateDict(directory);
            try {
                using (no_grad()) {
                    if (Zero is null)
                        foreach (var (name, parameter) in Model.named_parameters())
                            parameter.copy_(Entry(state, name, directory));
                    foreach (var (name, buffer) in Model.named_buffers())
                        buffer.copy_(Entry(state, name, directory));
                }
                if (Zero is { } zero) {
                    zero.LoadParameters(state);
                    zero.LoadOptimizerState(Optimizer, state);
                } else {
                    ShardedCheckpoint.LoadOptimizerState(Optimizer, Model, state);
                }
            } finally {
                foreach (var tensor in state.Values)
                    tensor.Dispose();
            }
        }

        private static Tensor Entry(Dictionary<string, Tensor> state, string name, string directory) =>
            state.TryGetValue(name, out var value) ? value
                : throw new System.IO.InvalidDataException($"The checkpoint in {directory} has no '{name}': it was written by another model.");

        private void ThrowIfTensorParallel()
        {
            if (Plan.TensorParallel > 1)
                throw new NotSupportedException(
                    $"Checkpoints of a tensor-parallel plan (TensorParallel = {Plan.TensorParallel}) are not written by PlanTraining yet: each " +
                    "tensor-parallel rank holds other slices of the same names. Save each tensor-parallel rank's model on its own.");
        }

        /// <summary>
        /// Releases the data-parallel buckets, the optimizer, the ZeRO-3 partitions and the grid's groups (not the model; under
        /// ZeRO 3 its parameters stay empty unless <see cref="ZeroStage3.GatherAll"/> was called last).
        /// </summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _ddp?.Dispose();
            Optimizer.Dispose();
            Zero?.Dispose();
            Grid.Dispose();
        }
    }
}
