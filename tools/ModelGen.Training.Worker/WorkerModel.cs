using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Training.Worker
{
    /// <summary>A residual block: x + fc(gelu(norm(x))).</summary>
    internal sealed class Block : nn.Module<Tensor, Tensor>
    {
        private readonly LayerNorm norm;
        private readonly Linear fc;

        public Block(int width) : base(nameof(Block))
        {
            norm = nn.LayerNorm(width);
            fc = nn.Linear(width, width);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => x + fc.call(nn.functional.gelu(norm.call(x)));
    }

    /// <summary>in → 3 blocks → norm → head, weights from a seed; the blocks optionally run through ZeRO-3.</summary>
    internal sealed class WorkerModel : nn.Module<Tensor, Tensor>
    {
        private readonly Linear input;
        private readonly ModuleList<Block> blocks;
        private readonly LayerNorm norm;
        private readonly Linear head;

        public WorkerModel(long seed) : base(nameof(WorkerModel))
        {
            input = nn.Linear(6, 16);
            blocks = nn.ModuleList(Enumerable.Range(0, 3).Select(_ => new Block(16)).ToArray());
            norm = nn.LayerNorm(16);
            head = nn.Linear(16, 3);
            RegisterComponents();
            using var _ = no_grad();
            var i = 0;
            foreach (var parameter in parameters())
                parameter.copy_(Draw(seed + i++, parameter.shape) * 0.4);
        }

        public ModuleList<Block> Blocks => blocks;

        public Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>? RunLayer { get; set; }

        public override Tensor forward(Tensor x)
        {
            x = input.call(x);
            foreach (var block in blocks)
                x = RunLayer is null ? block.call(x) : RunLayer(block, x);
            return head.call(norm.call(x));
        }

        /// <summary>A reproducible standard-normal tensor, the same on every rank.</summary>
        public static Tensor Draw(long seed, params long[] shape)
        {
            using var generator = new Generator((ulong)seed);
            return randn(shape, generator: generator);
        }

        /// <summary>Batch <paramref name="step"/>: inputs and targets of <paramref name="rows"/> rows.</summary>
        public static (Tensor Input, Tensor Target) Batch(int step, int rows) => (Draw(1000 + step, rows, 6), Draw(2000 + step, rows, 3));

        public static Tensor Loss(nn.Module<Tensor, Tensor> model, Tensor input, Tensor target) => (model.call(input) - target).pow(2).mean();
    }
}
