using System;
using System.CommandLine.Parsing;

namespace ModelGen.Tool.Commands
{
    /// <summary>Option values in the words people type: <c>bf16</c>, <c>nf4</c>, <c>adamw</c>, <c>inference</c>.</summary>
    internal static class Parsers
    {
        public static Workload? Workload(ArgumentResult result) => Pick(result, "training or inference",
            ("training", ModelGen.Workload.Training), ("train", ModelGen.Workload.Training), ("inference", ModelGen.Workload.Inference), ("infer", ModelGen.Workload.Inference));

        public static Optimizer? Optimizer(ArgumentResult result) => Pick(result, "adamw, adam8bit, sgd-momentum or sgd",
            ("adamw", ModelGen.Optimizer.AdamW), ("adam8bit", ModelGen.Optimizer.Adam8Bit), ("adam-8bit", ModelGen.Optimizer.Adam8Bit),
            ("sgd-momentum", ModelGen.Optimizer.SgdMomentum), ("sgdmomentum", ModelGen.Optimizer.SgdMomentum), ("sgd", ModelGen.Optimizer.Sgd));

        public static DType? Precision(ArgumentResult result) => Pick(result, "fp32, bf16 or fp16",
            ("fp32", DType.Float32), ("float32", DType.Float32), ("bf16", DType.BFloat16), ("bfloat16", DType.BFloat16),
            ("fp16", DType.Float16), ("float16", DType.Float16));

        public static QuantKind? Quantize(ArgumentResult result) => Pick(result, "none, int8, int4 or nf4",
            ("none", QuantKind.None), ("int8", QuantKind.Int8), ("int4", QuantKind.Int4), ("nf4", QuantKind.NF4));

        public static CheckpointMode? Checkpoint(ArgumentResult result) => Pick(result, "none, full or selective",
            ("none", CheckpointMode.None), ("full", CheckpointMode.Full), ("selective", CheckpointMode.Selective));

        private static T? Pick<T>(ArgumentResult result, string expected, params (string Name, T Value)[] choices)
            where T : struct
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            foreach (var (name, value) in choices)
            {
                if (string.Equals(name, token, StringComparison.OrdinalIgnoreCase))
                    return value;
            }
            result.AddError($"'{token}' is not one of: {expected}.");
            return null;
        }
    }
}
