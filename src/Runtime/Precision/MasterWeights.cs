using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// fp32 master copies of a model's 16-bit trainable parameters (Micikevicius et al. 2018, "Mixed Precision Training", §3.1):
    /// the optimizer updates the fp32 copies, so updates smaller than a 16-bit weight's rounding step are not lost, and the
    /// model computes with the 16-bit weights. fp32 (and fp64) parameters need no copy and are used as they are.
    /// Costs 4 bytes per 16-bit parameter, the "fp32 master copy" term of the memory model.
    /// </summary>
    /// <example>
    /// <code>
    /// using var master = new MasterWeights(model.parameters());
    /// var optimizer = torch.optim.AdamW(master.Parameters, lr: 1e-4);
    /// var scaler = new LossScaler();                    // fp16; with bf16 call optimizer.step() instead of scaler.Step
    /// foreach (var (x, y) in batches) {
    ///     using var scope = torch.NewDisposeScope();
    ///     model.zero_grad();
    ///     var loss = Precision.CrossEntropyFp32(model.call(x), y);
    ///     scaler.Scale(loss).backward();
    ///     master.CopyGradientsToMaster();
    ///     if (scaler.Step(optimizer, master.Parameters))
    ///         master.CopyMasterToModel();
    /// }
    /// </code>
    /// </example>
    public sealed class MasterWeights : IDisposable
    {
        private readonly (Parameter Model, Parameter Master)[] _copies;
        private bool _disposed;

        /// <summary>Copies the trainable 16-bit parameters among <paramref name="modelParameters"/> to fp32 on their device.</summary>
        /// <param name="modelParameters">The model's parameters; those that do not require grad are left out.</param>
        /// <exception cref="ArgumentException">A parameter is null or disposed.</exception>
        public MasterWeights(IEnumerable<Parameter> modelParameters)
        {
            ArgumentNullException.ThrowIfNull(modelParameters);
            var optimized = new List<Parameter>();
            var copies = new List<(Parameter, Parameter)>();
            var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
            foreach (var parameter in modelParameters) {
                if (parameter is null || parameter.IsInvalid)
                    throw new ArgumentException("MasterWeights was given a null or disposed parameter.", nameof(modelParameters));
                if (!parameter.requires_grad || !seen.Add(parameter))
                    continue;
                if (parameter.dtype is ScalarType.Float16 or ScalarType.BFloat16) {
                    Parameter master;
                    using (no_grad())
                        master = new Parameter(parameter.detach().to_type(ScalarType.Float32, copy: true), requires_grad: true);
                    // The copies live as long as this object, not as long as the caller's dispose scope.
                    master.DetachFromDisposeScope();
                    copies.Add((parameter, master));
                    optimized.Add(master);
                } else {
                    optimized.Add(parameter);
                }
            }
            _copies = copies.ToArray();
            Parameters = optimized;
        }

        /// <summary>What the optimizer should update: the fp32 copy of each 16-bit parameter, the parameter itself otherwise.</summary>
        public IReadOnlyList<Parameter> Parameters { get; }

        /// <summary>Sets each master copy's gradient to its model parameter's gradient, in fp32 (none where the model has none).</summary>
        public void CopyGradientsToMaster()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            foreach (var (model, master) in _copies) {
                var gradient = model.grad;
                if (gradient is null)
                    master.grad = null;
                else if (master.grad is { } existing)
                    existing.copy_(gradient);
                else
                    master.grad = gradient.to_type(ScalarType.Float32, copy: true);
            }
        }

        /// <summary>Rounds the updated fp32 weights into the model's 16-bit parameters.</summary>
        public void CopyMasterToModel()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            foreach (var (model, master) in _copies)
                model.copy_(master);
        }

        /// <summary>Frees the fp32 copies.</summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var (_, master) in _copies)
                master.Dispose();
        }
    }
}
