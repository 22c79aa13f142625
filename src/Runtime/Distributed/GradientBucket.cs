using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>
    /// Gradients of several parameters of one dtype, averaged over the group as one flat message: one all-reduce of ~25 MB
    /// instead of hundreds of small ones, whose per-message latency would dominate (Li et al., "PyTorch Distributed", VLDB 2020, §3.2.1).
    /// </summary>
    internal sealed class GradientBucket : IDisposable
    {
        private readonly Parameter[] _parameters;
        private readonly long[] _offsets;
        private Tensor? _flat;
        private Tensor[]? _views;

        public GradientBucket(int index, IReadOnlyList<Parameter> parameters)
        {
            Index = index;
            _parameters = parameters.ToArray();
            _offsets = new long[_parameters.Length + 1];
            for (var i = 0; i < _parameters.Length; i++) _offsets[i + 1] = _offsets[i] + _parameters[i].numel();
            Dtype = _parameters[0].dtype;
        }

        /// <summary>Position in launch order (the same on every rank).</summary>
        public int Index { get; }

        /// <summary>The parameters, in the order their gradients sit in the flat buffer.</summary>
        public IReadOnlyList<Parameter> Parameters => _parameters;

        /// <summary>The gradients' dtype.</summary>
        public ScalarType Dtype { get; }

        /// <summary>Bytes of the flat buffer.</summary>
        public long Bytes => _offsets[^1] * _parameters[0].element_size();

        /// <summary>
        /// Allocates the flat buffer and makes every parameter's gradient a view of its slot (PyTorch DDP's
        /// gradient_as_bucket_view): backward then accumulates straight into the bucket, the all-reduce averages it in place,
        /// and the bucket costs no memory beyond the gradients themselves. An existing gradient is copied in first.
        /// </summary>
        public void AttachGradientViews()
        {
            using var noGrad = torch.no_grad();
            _flat = torch.zeros(_offsets[^1], Dtype, _parameters[0].device);
            _views = new Tensor[_parameters.Length];
            for (var i = 0; i < _parameters.Length; i++)
            {
                using var slot = _flat.narrow(0, _offsets[i], _offsets[i + 1] - _offsets[i]);
                _views[i] = slot.view(_parameters[i].shape);
                using var grad = _parameters[i].grad;
                if (grad is not null) _views[i].copy_(grad);
                _parameters[i].grad = _views[i];
            }
        }

        /// <summary>
        /// Makes the flat buffer hold the current gradients. A gradient that is still its slot's view needs nothing; one that
        /// the optimizer or the user replaced (e.g. <c>zero_grad</c> setting it to none, then a fresh backward) is copied in
        /// and the parameter pointed back at its slot, freeing the copy; a missing gradient counts as zeros.
        /// </summary>
        public Tensor Gather()
        {
            if (_flat is null || _views is null) AttachGradientViews();
            using var noGrad = torch.no_grad();
            for (var i = 0; i < _parameters.Length; i++)
            {
                using var grad = _parameters[i].grad;
                if (grad is not null && TensorMemory.SameFirstElement(grad, _views![i])) continue;
                if (grad is null) _views![i].zero_();
                else _views![i].copy_(grad);
                _parameters[i].grad = _views![i];
            }
            return _flat!;
        }

        /// <summary>Whether every parameter's gradient is its slot's view.</summary>
        public bool GradientsAreViews()
        {
            if (_views is null) return false;
            for (var i = 0; i < _parameters.Length; i++)
            {
                using var grad = _parameters[i].grad;
                if (grad is null || !TensorMemory.SameFirstElement(grad, _views[i])) return false;
            }
            return true;
        }

        /// <summary>Gives every parameter a gradient of its own again (a copy of its slot) and frees the buffer.</summary>
        public void Dispose()
        {
            if (_views is not null)
            {
                using var noGrad = torch.no_grad();
                for (var i = 0; i < _parameters.Length; i++)
                {
                    using var grad = _parameters[i].grad;
                    if (grad is not null && TensorMemory.SameFirstElement(grad, _views[i])) _parameters[i].grad = _views[i].clone();
                    _views[i].Dispose();
                }
            }
            _views = null;
            _flat?.Dispose();
            _flat = null;
        }

        /// <summary>
        /// Splits parameters into buckets of at most <paramref name="capBytes"/> (a parameter larger than the cap gets its own),
        /// in reverse registration order, which approximates the order backward produces gradients in, and by dtype and device.
        /// </summary>
        public static List<GradientBucket> Plan(IReadOnlyList<Parameter> parameters, long capBytes)
        {
            var buckets = new List<GradientBucket>();
            var open = new Dictionary<(ScalarType, string), (List<Parameter> Members, long Bytes)>();
            foreach (var parameter in parameters.Reverse())
            {
                var key = (parameter.dtype, parameter.device.ToString());
                var bytes = parameter.numel() * parameter.element_size();
                if (!open.TryGetValue(key, out var current)) current = (new List<Parameter>(), 0);
                if (current.Members.Count > 0 && current.Bytes + bytes > capBytes)
                {
                    buckets.Add(new GradientBucket(buckets.Count, current.Members));
                    current = (new List<Parameter>(), 0);
                }
                current.Members.Add(parameter);
                open[key] = (current.Members, current.Bytes + bytes);
            }
            foreach (var (members, _) in open.Values)
                if (members.Count > 0) buckets.Add(new GradientBucket(buckets.Count, members));
            return buckets;
        }
    }
}
