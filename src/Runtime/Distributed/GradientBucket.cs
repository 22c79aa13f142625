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

        /// <summary>Copies the current gradients into the flat buffer (a missing gradient counts as zeros).</summary>
        public Tensor Gather()
        {
            using var noGrad = torch.no_grad();
            _flat ??= torch.empty(_offsets[^1], Dtype, _parameters[0].device);
            for (var i = 0; i < _parameters.Length; i++)
            {
                using var slot = _flat.narrow(0, _offsets[i], _offsets[i + 1] - _offsets[i]);
                var grad = _parameters[i].grad;
                if (grad is null) slot.zero_();
                else slot.copy_(grad.reshape(-1));
            }
            return _flat;
        }

        /// <summary>Writes the reduced buffer back as every parameter's gradient (creating it where the parameter had none).</summary>
        public void Scatter()
        {
            if (_flat is null) return;
            using var noGrad = torch.no_grad();
            for (var i = 0; i < _parameters.Length; i++)
            {
                var parameter = _parameters[i];
                using var slot = _flat.narrow(0, _offsets[i], _offsets[i + 1] - _offsets[i]);
                using var shaped = slot.view(parameter.shape);
                var grad = parameter.grad;
                if (grad is null) parameter.grad = shaped.clone();
                else grad.copy_(shaped);
            }
        }

        public void Dispose()
        {
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
