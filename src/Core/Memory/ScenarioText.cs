using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>How a scenario reads in a message: <c>training</c>, <c>batch 1</c>, <c>AdamW</c>.</summary>
    public static class ScenarioText
    {
        /// <summary><c>training</c> or <c>inference</c>.</summary>
        public static string Workload(ScenarioSpec scenario) => scenario.Workload == ModelGen.Workload.Training ? "training" : "inference";

        /// <summary>The optimizer as people name it; <c>no optimizer</c> for inference, which holds no optimizer state.</summary>
        public static string Optimizer(ScenarioSpec scenario) => scenario.Workload != ModelGen.Workload.Training
            ? "no optimizer"
            : scenario.Optimizer switch
            {
                ModelGen.Optimizer.AdamW => "AdamW",
                ModelGen.Optimizer.Adam8Bit => "8-bit Adam",
                ModelGen.Optimizer.SgdMomentum => "SGD with momentum",
                ModelGen.Optimizer.Sgd => "SGD",
                _ => scenario.Optimizer.ToString(),
            };

        /// <summary>Parallelism and offload that change the per-device numbers, e.g. <c>, tensor parallel 2, ZeRO-3 over 4</c>; empty when none.</summary>
        public static string Layout(ScenarioSpec scenario)
        {
            var text = "";
            if (scenario.TensorParallel > 1)
                text += $", tensor parallel {scenario.TensorParallel}";
            if (scenario.DataParallel > 1)
                text += scenario.ZeroStage > 0 ? $", ZeRO-{scenario.ZeroStage} over {scenario.DataParallel}" : $", data parallel {scenario.DataParallel}";
            if (scenario.OffloadOptimizer)
                text += ", optimizer offloaded";
            if (scenario.OffloadParameters)
                text += ", parameters offloaded";
            return text;
        }
    }
}
