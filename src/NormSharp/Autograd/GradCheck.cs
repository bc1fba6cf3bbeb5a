using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// Checks an operation's backward against central finite differences. The network runs in float32,
/// so the scalar probe L = Σ yᵢ·rᵢ (r random and fixed) and every difference quotient are formed in
/// float64 from the float32 outputs; the step is relative to each element's magnitude.
/// </summary>
public static class GradCheck
{
    /// <summary>The worst disagreement found for one input.</summary>
    /// <param name="Input">Index of the input in the list given to <see cref="Run"/>.</param>
    /// <param name="Element">Flat index of the worst element.</param>
    /// <param name="Analytic">Gradient from backward at that element.</param>
    /// <param name="Numeric">Finite-difference gradient at that element.</param>
    /// <param name="Error">|analytic − numeric| / (atol + rtol·|numeric|); at most 1 passes.</param>
    public readonly record struct Worst(int Input, int Element, double Analytic, double Numeric, double Error);

    /// <summary>
    /// Compares the gradients of the probe L = Σ forward()ᵢ·rᵢ with respect to each of <paramref name="inputs"/>
    /// (leaves that require gradients) with central differences. Returns the worst element over all inputs.
    /// </summary>
    public static Worst Run(Func<Variable> forward, IReadOnlyList<Variable> inputs, double step = 1e-2, double atol = 2e-3, double rtol = 2e-2, ulong seed = 1)
    {
        foreach (var v in inputs)
            if (!v.RequiresGrad || !v.IsLeaf)
                throw new InvalidValueException(nameof(inputs), $"GradCheck: every input must be a leaf that requires a gradient; {v} is not.");

        Tensor probe;
        using (GradMode.NoGrad())
        {
            var y0 = forward();
            probe = Tensor.Zeros(y0.Shape);
            new Rng(seed).FillUniform(probe.Span, -1f, 1f);
        }

        Tape.Current.Reset();
        foreach (var v in inputs) v.ZeroGrad();
        var y = forward();
        var loss = F.Sum(F.Mul(y, Variable.Constant(probe)));
        loss.Backward();
        var analytic = inputs.Select(v => v.HasGrad ? v.Grad!.ToArray() : new float[v.Value.Length]).ToArray();

        var worst = new Worst(-1, -1, 0, 0, 0);
        for (int i = 0; i < inputs.Count; i++)
        {
            var values = inputs[i].Value.Span;
            for (int e = 0; e < values.Length; e++)
            {
                float original = values[e];
                float h = (float)(step * Math.Max(1.0, Math.Abs(original)));
                values[e] = original + h;
                double hPlus = original + h - (double)original;
                double up = ProbeValue(forward, probe);
                values[e] = original - h;
                double hMinus = (double)original - (original - h);
                double down = ProbeValue(forward, probe);
                values[e] = original;
                double numeric = (up - down) / (hPlus + hMinus);
                double err = Math.Abs(analytic[i][e] - numeric) / (atol + rtol * Math.Abs(numeric));
                if (double.IsNaN(err)) err = double.PositiveInfinity;
                if (err > worst.Error || worst.Input < 0) worst = new Worst(i, e, analytic[i][e], numeric, err);
            }
        }
        return worst;
    }

    /// <summary>
    /// As <see cref="Run"/>, but throws a <see cref="GradientCheckException"/> naming the input, the
    /// element and both values when the worst element disagrees (PyTorch's <c>gradcheck</c>).
    /// </summary>
    public static Worst Check(Func<Variable> forward, IReadOnlyList<Variable> inputs, double step = 1e-2, double atol = 2e-3, double rtol = 2e-2, ulong seed = 1)
    {
        var worst = Run(forward, inputs, step, atol, rtol, seed);
        if (!(worst.Error <= 1))
            throw new GradientCheckException(
                $"GradCheck: the gradient of input {worst.Input} ({inputs[worst.Input]}) at element {worst.Element} is {worst.Analytic:G6} by backward but {worst.Numeric:G6} by finite differences " +
                $"(error {worst.Error:G3} times the tolerance {atol} + {rtol}·|numeric|).", worst);
        return worst;
    }

    private static double ProbeValue(Func<Variable> forward, Tensor probe)
    {
        using var _ = GradMode.NoGrad();
        var y = forward().Value.Span;
        var r = probe.Span;
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)y[i] * r[i];
        return s;
    }
}
