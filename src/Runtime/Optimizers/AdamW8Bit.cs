using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    /// <summary>
    /// AdamW (Loshchilov &amp; Hutter 2019) whose two moments are stored block-wise in 8 bits (Dettmers et al. 2022, "8-bit Optimizers via
    /// Block-wise Quantization"): the first moment with the signed dynamic code, the second with the unsigned one, one fp32 absmax per
    /// block of each (<see cref="BlockwiseQuantization"/>). Each step dequantizes a chunk of both moments, updates them and the
    /// parameter in fp32 exactly as AdamW does, and quantizes them again. API after <c>torch.optim</c>: <see cref="step"/>,
    /// <see cref="zero_grad"/>, <see cref="state_dict"/>, <see cref="load_state_dict"/>.
    /// </summary>
    /// <remarks>
    /// <para>Bytes of state for a parameter of <c>n</c> elements, block size <c>B</c> (<see cref="StateBytesFor"/>):
    /// <c>2·n + 8·⌈n/B⌉</c> when <c>n ≥ MinQuantizedSize</c> (two 1-byte codes per element, two fp32 absmax per block), else
    /// <c>8·n</c> (two fp32 moments: small tensors such as biases and norms stay 32-bit, as bitsandbytes' <c>min_8bit_size</c> does,
    /// because they are sensitive and cost nothing). The step count is one host integer. No fp32 master copy is kept: the parameter
    /// is updated in its own dtype.</para>
    /// <para>Transients: the step works on chunks of at most <see cref="ChunkElements"/> elements (rounded to whole blocks), so its
    /// temporaries are a few fp32 copies of one chunk, not of the largest parameter.</para>
    /// </remarks>
    public sealed class AdamW8Bit : IDisposable
    {
        /// <summary>Elements updated at a time: bounds the step's fp32 temporaries (about 6 × 4 B × this) whatever the parameter size.</summary>
        public const long ChunkElements = 1 << 20;

        /// <summary>Tensors smaller than this keep fp32 moments by default (bitsandbytes' <c>min_8bit_size</c>).</summary>
        public const long DefaultMinQuantizedSize = 4096;

        private readonly Parameter[] _parameters;
        private readonly MomentState[] _states;
        private bool _disposed;

        /// <summary>Creates the optimizer and allocates its state (zeros) for every parameter that requires a gradient.</summary>
        /// <param name="parameters">Parameters to train; frozen ones (<c>requires_grad = false</c>) are skipped, a repeated one is kept once.</param>
        /// <param name="lr">Learning rate.</param>
        /// <param name="beta1">Decay of the first moment.</param>
        /// <param name="beta2">Decay of the second moment.</param>
        /// <param name="eps">Term added to the denominator.</param>
        /// <param name="weight_decay">Decoupled weight decay (AdamW), applied as <c>p ← p·(1 − lr·wd)</c> before the Adam update.</param>
        /// <param name="blockSize">Elements per absmax: 2048 as in the paper, or smaller (e.g. 256) for a finer scale at 4 B more per block.</param>
        /// <param name="minQuantizedSize">Parameters with fewer elements keep fp32 moments; 0 quantizes all.</param>
        /// <exception cref="ArgumentException">A hyperparameter out of range, a non-floating parameter, or no trainable parameter.</exception>
        public AdamW8Bit(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
            double weight_decay = 1e-2, int blockSize = BlockwiseQuantization.DefaultBlockSize, long minQuantizedSize = DefaultMinQuantizedSize)
        {
            ArgumentNullException.ThrowIfNull(parameters);
            if (!(lr >= 0) || !double.IsFinite(lr))
                throw new ArgumentException($"The learning rate must be a finite number ≥ 0, got {lr}.", nameof(lr));
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
                throw new ArgumentException($"The betas must lie in [0, 1), got ({beta1}, {beta2}).", nameof(beta1));
            if (!(eps > 0))
                throw new ArgumentException($"eps must be positive, got {eps}.", nameof(eps));
            if (!(weight_decay >= 0) || !double.IsFinite(weight_decay))
                throw new ArgumentException($"The weight decay must be a finite number ≥ 0, got {weight_decay}.", nameof(weight_decay));
            if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
                throw new ArgumentException($"The block size must be a power of two ≥ 16 (2048 in the paper), got {blockSize}.", nameof(blockSize));
            ArgumentOutOfRangeException.ThrowIfNegative(minQuantizedSize);

            LearningRate = lr;
            Beta1 = beta1;
            Beta2 = beta2;
            Eps = eps;
            WeightDecay = weight_decay;
            BlockSize = blockSize;
            MinQuantizedSize = minQuantizedSize;

            var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
            var list = new List<Parameter>();
            foreach (var p in parameters)
            {
                if (p is null || p.IsInvalid)
                    throw new ArgumentException("AdamW8Bit was given a null or disposed parameter.", nameof(parameters));
                if (!p.requires_grad || !seen.Add(p))
                    continue;
                if (!is_floating_point(p.dtype))
                    throw new ArgumentException($"AdamW8Bit can only train floating-point parameters, got {p.dtype}.", nameof(parameters));
                if (!p.is_contiguous())
                    throw new ArgumentException($"AdamW8Bit updates parameters in place through a flat view, so they must be contiguous; one of shape [{string.Join(", ", p.shape)}] is not.", nameof(parameters));
                list.Add(p);
            }

            if (list.Count == 0)
                throw new ArgumentException("AdamW8Bit was given no parameter that requires a gradient (are they all frozen?).", nameof(parameters));
            _parameters = list.ToArray();
            _states = _parameters.Select(p => new MomentState(p.numel(), p.numel() >= minQuantizedSize, blockSize, p.device)).ToArray();
        }

        /// <summary>Learning rate of the next step (a scheduler may change it).</summary>
        public double LearningRate { get; set; }

        /// <summary>Decay of the first moment.</summary>
        public double Beta1 { get; }

        /// <summary>Decay of the second moment.</summary>
        public double Beta2 { get; }

        /// <summary>Denominator term.</summary>
        public double Eps { get; }

        /// <summary>Decoupled weight decay.</summary>
        public double WeightDecay { get; }

        /// <summary>Elements per absmax.</summary>
        public int BlockSize { get; }

        /// <summary>Parameters with fewer elements keep fp32 moments.</summary>
        public long MinQuantizedSize { get; }

        /// <summary>Steps taken so far.</summary>
        public long StepCount { get; private set; }

        /// <summary>The trained parameters (frozen ones excluded, repeats once).</summary>
        public IReadOnlyList<Parameter> Parameters => _parameters;

        /// <summary>Bytes the optimizer state holds now, counted from its tensors (codes, absmax, fp32 moments).</summary>
        public long HeldStateBytes => _states.Sum(s => s.Bytes);

        /// <summary>
        /// Bytes of 8-bit AdamW state for one parameter of <paramref name="elements"/> elements: <c>2·n + 8·⌈n/B⌉</c> when
        /// <c>n ≥ minQuantizedSize</c>, else <c>8·n</c> (Dettmers et al. 2022, §2: one byte per moment element, one fp32 absmax per block
        /// per moment). The formula the memory model must use.
        /// </summary>
        public static long StateBytesFor(long elements, int blockSize = BlockwiseQuantization.DefaultBlockSize, long minQuantizedSize = DefaultMinQuantizedSize)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(elements);
            return elements >= minQuantizedSize ? 2 * elements + 8 * BlockwiseQuantization.BlockCount(elements, blockSize) : 8 * elements;
        }

        /// <summary>Frees every parameter's gradient (set to none, as <c>zero_grad(set_to_none=True)</c>).</summary>
        public void zero_grad()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var p in _parameters)
                p.grad = null;
        }

        /// <summary>One AdamW step for every parameter that has a gradient; parameters without one are left as they are.</summary>
        public void step()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            StepCount++;
            double lr = LearningRate;
            // Bias corrections of Adam (Kingma & Ba 2015, Algorithm 1).
            double correction1 = 1 - Math.Pow(Beta1, StepCount);
            double correction2 = 1 - Math.Pow(Beta2, StepCount);
            using var noGrad = no_grad();
            for (int i = 0; i < _parameters.Length; i++)
            {
                var p = _parameters[i];
                var grad = p.grad;
                if (grad is null)
                    continue;
                var flat = p.view(-1);
                var gradFlat = grad.reshape(-1);
                var state = _states[i];
                long chunk = state.Quantized ? Math.Max(BlockSize, ChunkElements / BlockSize * BlockSize) : flat.numel();
                for (long start = 0; start < flat.numel(); start += chunk)
                {
                    using var scope = NewDisposeScope();
                    long length = Math.Min(chunk, flat.numel() - start);
                    var g = gradFlat.narrow(0, start, length).to(ScalarType.Float32);
                    var (m, v) = state.Read(start, length);
                    m.mul_(Beta1).add_(g, alpha: 1 - Beta1);
                    v.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
                    var values = flat.narrow(0, start, length);
                    var work = values.to(ScalarType.Float32);
                    if (WeightDecay != 0)
                        work.mul_(1 - lr * WeightDecay);
                    var denominator = v.sqrt().div_(Math.Sqrt(correction2)).add_(Eps);
                    work.addcdiv_(m, denominator, value: -lr / correction1);
                    values.copy_(work);
                    state.Write(start, m, v);
                }
            }
        }

        /// <summary>
        /// The state as named tensors, after bitsandbytes' names: <c>state.{i}.state1</c> / <c>absmax1</c> (first moment codes and
        /// block maxima), <c>state.{i}.state2</c> / <c>absmax2</c> (second moment), or fp32 <c>state1</c>/<c>state2</c> alone for a
        /// 32-bit parameter; and <c>step</c>. The tensors are copies the caller owns.
        /// </summary>
        public Dictionary<string, Tensor> state_dict()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var dict = new Dictionary<string, Tensor> { ["step"] = tensor(StepCount) };
            for (int i = 0; i < _states.Length; i++)
                foreach (var (name, t) in _states[i].Named())
                    dict[$"state.{i}.{name}"] = t.detach().clone();
            return dict;
        }

        /// <summary>Restores a state from <see cref="state_dict"/> of an optimizer over parameters of the same sizes and settings.</summary>
        /// <exception cref="ArgumentException">A missing key or a tensor of another dtype or size; nothing is changed then.</exception>
        public void load_state_dict(IReadOnlyDictionary<string, Tensor> stateDict)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(stateDict);
            if (!stateDict.TryGetValue("step", out var stepTensor))
                throw new ArgumentException("The optimizer state has no 'step'.", nameof(stateDict));
            var pairs = new List<(Tensor Target, Tensor Source)>();
            for (int i = 0; i < _states.Length; i++)
            {
                foreach (var (name, target) in _states[i].Named())
                {
                    var key = $"state.{i}.{name}";
                    if (!stateDict.TryGetValue(key, out var source))
                        throw new ArgumentException($"The optimizer state has no '{key}' (block size {BlockSize}, min quantized size {MinQuantizedSize}).", nameof(stateDict));
                    if (source.dtype != target.dtype || source.numel() != target.numel())
                        throw new ArgumentException($"'{key}' is {source.dtype}[{source.numel()}] but this optimizer holds {target.dtype}[{target.numel()}].", nameof(stateDict));
                    pairs.Add((target, source));
                }
            }

            using var noGrad = no_grad();
            foreach (var (target, source) in pairs)
                target.copy_(source.reshape(target.shape));
            StepCount = stepTensor.item<long>();
        }

        /// <summary>The first and second moments of parameter <paramref name="index"/> dequantized to fp32 (for inspection and tests).</summary>
        public (Tensor ExpAvg, Tensor ExpAvgSq) Moments(int index)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var (m, v) = _states[index].Read(0, _parameters[index].numel());
            return (m.reshape(_parameters[index].shape), v.reshape(_parameters[index].shape));
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var s in _states)
                s.Dispose();
        }
    }
}
