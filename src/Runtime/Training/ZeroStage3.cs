using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// ZeRO stage 3 (Rajbhandari et al. 2020, §5.3; FSDP): every parameter is partitioned over the data-parallel ranks, each rank
    /// keeps and steps only its range, and a layer's parameters exist whole only while the layer runs: gathered before its forward
    /// and freed after it, gathered again before its backward (which recomputes its forward: the layers are also
    /// activation-checkpointed) and freed after it, with their gradients reduce-scattered into their owners' ranges as backward
    /// produces them. Parameters outside the given layers (embeddings, final norm, head) form one more unit, gathered from
    /// <see cref="BeginForward"/> to the end of <see cref="Backward"/>.
    /// </summary>
    /// <example>
    /// <code>
    /// using var zero = new ZeroStage3(model, model.Blocks, grid.DataParallel);
    /// using var optimizer = new AdamW(zero.Partitions, settings: new OptimizerSettings { DataParallel = grid.DataParallel, ZeroStage = 3 });
    /// zero.BeginForward();
    /// var loss = ...;                 // the model's forward runs each block through zero.Forward(block, x)
    /// zero.Backward(loss);
    /// optimizer.Step();
    /// </code>
    /// </example>
    public sealed partial class ZeroStage3 : IDisposable
    {
        private readonly Dictionary<nn.Module, PartitionedParameters> _layers = new(ReferenceEqualityComparer.Instance);
        private readonly PartitionedParameters _rest;
        private readonly ProcessGroup _group;
        private readonly Dictionary<Parameter, string> _names = new(ReferenceEqualityComparer.Instance);
        private readonly nn.Module _model;
        private bool _disposed;

        /// <summary>Partitions the parameters of <paramref name="model"/>: one unit per layer of <paramref name="layers"/>, one for the rest.</summary>
        /// <param name="model">The whole model.</param>
        /// <param name="layers">Its layers (e.g. the decoder blocks); each is gathered around its own forward and backward.</param>
        /// <param name="dataParallel">The ranks that share the parameters.</param>
        /// <param name="offloadParameters">Keep the partitions in host memory; a layer is copied to the device when gathered.</param>
        /// <param name="prefetch">Gather the next layer on a thread of its own while the current one computes (with more than one
        /// rank and MPI_THREAD_MULTIPLE); the device then holds two gathered layers instead of one.</param>
        /// <exception cref="ArgumentException">A layer is not part of the model, or two layers share a parameter.</exception>
        public ZeroStage3(nn.Module model, IEnumerable<nn.Module> layers, ProcessGroup dataParallel, bool offloadParameters = false, bool prefetch = true)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(layers);
            ArgumentNullException.ThrowIfNull(dataParallel);
            _group = dataParallel;
            _model = model;
            foreach (var (name, parameter) in model.named_parameters())
                _names.TryAdd(parameter, name);
            var all = model.parameters().Distinct(ReferenceEqualityComparer.Instance).Cast<Parameter>().ToList();
            var claimed = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
            foreach (var layer in layers) {
                ZeroRouting.ThrowIfOwned(layer);
                var own = layer.parameters().Distinct(ReferenceEqualityComparer.Instance).Cast<Parameter>().ToList();
                foreach (var parameter in own) {
                    if (!all.Contains(parameter, ReferenceEqualityComparer.Instance))
                        throw new ArgumentException($"A layer given to ZeroStage3 ({layer.GetName()}) has parameters that are not the model's.", nameof(layers));
                    if (!claimed.Add(parameter))
                        throw new ArgumentException($"Two layers given to ZeroStage3 share a parameter (in {layer.GetName()}); a tied weight must live outside the layers.", nameof(layers));
                }
                _layers[layer] = new PartitionedParameters(own, dataParallel, offloadParameters) { Counters = _counters };
                _order.Add(_layers[layer]);
            }
            AttachLayers();
            _rest = new PartitionedParameters(all.Where(p => !claimed.Contains(p)).ToList(), dataParallel, offloadParameters) { Counters = _counters };
            // Duplicating the communicator is collective: every rank takes the same branch (same size, same MPI thread level).
            if (prefetch && dataParallel is MpiProcessGroup mpi && mpi.Size > 1 && World.ThreadSupport >= 3)
                _prefetcher = new LayerPrefetcher(mpi.Duplicate());
        }

        /// <summary>This rank's partitions of every parameter: give them to the optimizer (with <c>ZeroStage = 3</c>).</summary>
        public IReadOnlyList<Parameter> Partitions => _layers.Values.SelectMany(l => l.Partitions).Concat(_rest.Partitions).ToList();

        /// <summary>Gathers the parameters outside the layers for this step's forward and backward.</summary>
        public void BeginForward()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _previous = null;
            DropPrefetches(); // left by a forward without Backward (evaluation): the optimizer may have changed the partitions since
            _rest.Gather();
        }

        /// <summary>
        /// Runs <paramref name="layer"/> on <paramref name="input"/> with its parameters gathered for the call only; in backward they
        /// are gathered again, the forward recomputed and the gradients reduce-scattered into the partitions.
        /// </summary>
        /// <exception cref="ArgumentException"><paramref name="layer"/> was not given to the constructor.</exception>
        public Tensor Forward(nn.Module<Tensor, Tensor> layer, Tensor input)
        {
            ArgumentNullException.ThrowIfNull(layer);
            ArgumentNullException.ThrowIfNull(input);
            return Forward<Tensor>(layer, [input], given => layer.call(given[0]!),
                output => [output], (_, outputs) => outputs[0]!);
        }

        /// <summary>
        /// Runs a layer whose forward takes several tensors (a hidden state and a mask or position ids; a null entry is an input the
        /// caller left out) or returns a tuple or a record, with its parameters gathered for the call only, as
        /// <see cref="Forward(nn.Module{Tensor, Tensor}, Tensor)"/> does. Only the parameters are gathered; every given input is kept
        /// for the recompute in backward, and gets a gradient when it requires one. Integer outputs get none.
        /// </summary>
        /// <typeparam name="TResult">The layer's result: a tensor, a tuple or a record of tensors.</typeparam>
        /// <param name="layer">A layer given to the constructor.</param>
        /// <param name="inputs">Its inputs in order.</param>
        /// <param name="body">Calls the layer on the inputs (the hook of <see cref="ZeroRouting"/> is off for the layer meanwhile).</param>
        /// <param name="outputs">The tensors of a result in a fixed order (a null entry is a member left null).</param>
        /// <param name="rebuild">The result with its tensors replaced by the given ones (same order, same nulls).</param>
        /// <exception cref="ArgumentException"><paramref name="layer"/> was not given to the constructor, or an input is disposed.</exception>
        public TResult Forward<TResult>(nn.Module layer, Tensor?[] inputs, Func<Tensor?[], TResult> body, Func<TResult, Tensor?[]> outputs,
            Func<TResult, Tensor?[], TResult> rebuild)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(layer);
            ArgumentNullException.ThrowIfNull(inputs);
            ArgumentNullException.ThrowIfNull(body);
            ArgumentNullException.ThrowIfNull(outputs);
            ArgumentNullException.ThrowIfNull(rebuild);
            if (!_layers.TryGetValue(layer, out var parameters))
                throw new ArgumentException($"Layer {layer.GetName()} was not given to this ZeroStage3.", nameof(layer));
            var present = inputs.Where(t => t is not null).Select(t => t!).ToArray();
            if (present.Any(t => t.IsInvalid))
                throw new ArgumentException($"Layer {layer.GetName()} was given a disposed input tensor.", nameof(inputs));
            ReturnedGradients.Release();
            BackwardFailures.ThrowIfAny();
            _called.Add(layer);
            var (next, previous) = Neighbours(parameters);
            var partitions = parameters.Partitions.ToArray();
            // The hook is off for the layer while its body runs, so a generated layer computes instead of routing again.
            var guarded = body;
            body = given => ZeroRouting.RunBody(layer, () => guarded(given));
            if (!is_grad_enabled() || (!present.Any(t => t.requires_grad) && !partitions.Any(p => p.requires_grad))) {
                parameters.Gather();
                next?.Invoke();
                try {
                    using var _ = no_grad();
                    return body(inputs);
                } finally {
                    parameters.Release();
                }
            }
            var call = new ZeroLayerCall(given => {
                    var result = body(given);
                    return (result, outputs(result));
                }, parameters, inputs.Select(t => t is not null).ToArray(), present.Select(t => t.requires_grad).ToArray())
                { PrefetchNext = next, PrefetchPrevious = previous };
            var arguments = new object[1 + present.Length + partitions.Length];
            arguments[0] = call;
            present.CopyTo(arguments, 1);
            partitions.CopyTo(arguments, 1 + present.Length);
            // This scope frees TorchSharp's output templates and the body's temporaries at once.
            using var scope = NewDisposeScope();
            var connected = ZeroLayerFunction.apply(arguments);
            var first = call.FirstResult;
            call.FirstResult = null;
            var rebuilt = new Tensor?[call.OutputPresent.Length];
            for (int i = 0, n = 0; i < rebuilt.Length; i++)
                rebuilt[i] = call.OutputPresent[i] ? scope.MoveToOuter(connected[n++]) : null;
            // The first result is only a carrier of non-tensor members: its tensors are replaced by the node's outputs.
            return rebuild((TResult)first!, rebuilt);
        }

        /// <summary>
        /// Runs backward from <paramref name="loss"/>, then reduce-scatters the gradients of the parameters outside the layers into
        /// their partitions and frees them. Afterwards every gradient lives in a partition's <c>.grad</c>.
        /// </summary>
        /// <exception cref="BackwardException">A layer's backward failed; the gradients are incomplete.</exception>
        public void Backward(Tensor loss)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(loss);
            try {
                loss.backward();
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var members = _rest.Members.ToArray();
                var mine = _rest.ReduceScatter(members.Select(m => m.grad).ToList());
                var partitions = _rest.Partitions.ToArray();
                for (var i = 0; i < partitions.Length; i++) {
                    if (!partitions[i].requires_grad)
                        continue;
                    if (partitions[i].grad is { } existing)
                        existing.add_(mine[i]);
                    else
                        partitions[i].grad = mine[i]; // the parameter holds its own reference; the scope frees this handle
                }
                foreach (var member in members)
                    member.grad = null;
            } finally {
                _rest.Release();
                DropPrefetches(); // a prediction that did not come true must not outlive the step's parameters
                LastStep = _counters.TakeReport();
            }
            BackwardFailures.ThrowIfAny();
        }

        /// <summary>
        /// Gathers every parameter into the model (for evaluation, saving a plain checkpoint or comparing), until <see cref="ReleaseAll"/>.
        /// Every rank must call it.
        /// </summary>
        public void GatherAll()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            DropPrefetches();
            foreach (var layer in _layers.Values)
                layer.Gather();
            _rest.Gather();
        }

        /// <summary>Frees the parameters <see cref="GatherAll"/> gathered.</summary>
        public void ReleaseAll()
        {
            foreach (var layer in _layers.Values)
                layer.Release();
            _rest.Release();
        }

        /// <summary>
        /// This rank's share of the model's state for <see cref="ShardedCheckpoint.Save"/>: its ranges of every parameter, and (on
        /// rank 0 only) the model's buffers whole. Call it between steps; the slices share memory with the partitions.
        /// </summary>
        public IReadOnlyList<TensorSlice> ShardedState()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var slices = _layers.Values.SelectMany(l => l.Slices(p => _names[p])).Concat(_rest.Slices(p => _names[p])).ToList();
            if (_group.Rank == 0)
                slices.AddRange(ShardedCheckpoint.Buffers(_model));
            return slices;
        }

        /// <summary>The number of ranks sharing the parameters.</summary>
        public int Ranks => _group.Size;

        /// <summary>
        /// Frees the partitions. After <see cref="GatherAll"/> the model keeps its whole parameters and is a plain model again;
        /// otherwise its parameters stay empty.
        /// </summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            DetachLayers();
            DropPrefetches();
            _prefetcher?.Dispose();
            foreach (var layer in _layers.Values)
                layer.Dispose();
            _rest.Dispose();
        }
    }
}
