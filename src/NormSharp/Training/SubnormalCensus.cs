using NormSharp.Layers;
using NormSharp.Optimizers;

namespace NormSharp.Training;

/// <summary>
/// How many subnormal (denormal) floats a model holds: nonzero values below 2⁻¹²⁶ (the smallest normal float) in magnitude,
/// on which x86 processors take a microcode assist of about a hundred cycles per operation. A training run whose steps
/// slow down as it goes on usually has them in its optimizer state or gradients; a count of zero rules that cause out.
/// </summary>
/// <param name="Parameters">Subnormal values among the parameters.</param>
/// <param name="Gradients">Subnormal values among the parameters' current gradients.</param>
/// <param name="OptimizerState">Subnormal values in the optimizer's state tensors (Adam's moments, SGD's momentum).</param>
public sealed record SubnormalCensus(long Parameters, long Gradients, long OptimizerState)
{
    /// <summary>All subnormal values counted.</summary>
    public long Total => Parameters + Gradients + OptimizerState;

    /// <summary>Counts the subnormal values of <paramref name="model"/>'s parameters and gradients and of <paramref name="optimizer"/>'s state.</summary>
    public static SubnormalCensus Of(Module model, Optimizer? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        long parameters = 0, gradients = 0, state = 0;
        foreach (var p in model.Parameters())
        {
            parameters += Count(p.Value.Span);
            if (p.HasGrad) gradients += Count(p.Grad!.Span);
        }
        if (optimizer is not null)
            foreach (var (_, tensor) in optimizer.StateTensors())
                state += Count(tensor.Span);
        return new SubnormalCensus(parameters, gradients, state);
    }

    /// <summary>The subnormal values in <paramref name="values"/>.</summary>
    public static long Count(ReadOnlySpan<float> values)
    {
        long n = 0;
        foreach (float v in values)
            if (float.IsSubnormal(v)) n++;
        return n;
    }
}
