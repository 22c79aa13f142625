using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// y = x·Wᵀ + b where W is dequantized in forward and again in backward, so autograd keeps only references to the
    /// quantized buffers and never a full-precision weight (what bitsandbytes' 4-bit matmul does for QLoRA training).
    /// The input is not saved either: with a frozen weight, dL/dx = dL/dy·W and dL/db = Σ dL/dy need no activation.
    /// Arguments: (x, bias or null, <see cref="WeightFormat"/>, quantized buffers as Tensor[]).
    /// </summary>
    /// <remarks>A shared singleton (TorchSharp's Function&lt;T&gt;): per-call state goes through the context only.</remarks>
    internal sealed class QuantizedLinearFunction : autograd.SingleTensorFunction<QuantizedLinearFunction>
    {
        private const string FormatKey = "format";
        private const string InputNeedsGradKey = "input_needs_grad";
        private const string HasBiasKey = "has_bias";

        public override string Name => nameof(QuantizedLinearFunction);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var input = (Tensor)vars[0];
            var bias = vars[1] as Tensor;
            var format = (WeightFormat)vars[2];
            var buffers = (Tensor[])vars[3];

            ctx.save_data(FormatKey, format);
            ctx.save_data(InputNeedsGradKey, input.requires_grad);
            ctx.save_data(HasBiasKey, bias is not null);
            ctx.save_for_backward(buffers.ToList());

            using var weight = format.Dequantize(buffers, input.dtype);
            return nn.functional.linear(input, weight, bias);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            // An exception crossing TorchSharp's native autograd engine ends the process: record it, return no gradients,
            // and let BackwardFailures throw it once backward is over (e.g. a weight changed in place between forward and backward).
            // The handles TorchSharp registers on the caller's (training step's) scope are released as the region functions release
            // theirs (ModelGen.Parallel.BackwardHandles): otherwise every projection's input gradient stays resident until the step ends.
            Parallel.BackwardHandles.ReleaseReturned();
            try
            {
                using var scope = NewDisposeScope();
                return Parallel.BackwardHandles.Return(grad_output, Gradients(ctx, grad_output));
            }
            catch (System.Exception exception)
            {
                BackwardFailures.Record(new InvalidOperationException($"QuantizedLinear failed in backward: {exception.Message}", exception));
                return new List<Tensor> { null!, null!, null!, null! };
            }
        }

        private static List<Tensor> Gradients(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var format = (WeightFormat)ctx.get_data(FormatKey);
            Tensor? gradInput = null;
            Tensor? gradBias = null;
            if ((bool)ctx.get_data(InputNeedsGradKey))
            {
                var saved = ctx.get_saved_variables();
                using (var weight = format.Dequantize(saved, grad_output.dtype))
                    gradInput = grad_output.matmul(weight);
                foreach (var t in saved)
                    t.Dispose();
            }

            if ((bool)ctx.get_data(HasBiasKey))
            {
                using var rows = grad_output.reshape(-1, format.OutFeatures);
                gradBias = rows.sum(dim: 0);
            }

            return new List<Tensor> { gradInput!, gradBias!, null!, null! };
        }
    }
}
