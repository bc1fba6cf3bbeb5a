using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>
/// The activation layers; GELU is the <c>Gelu</c> operator from opset 20 (either form), x·½(1 + erf(x/√2)) or its
/// tanh approximation below it; SiLU is x·Sigmoid(x).
/// </summary>
internal static class ActivationExport
{
    public static OnnxValue Activation(OnnxGraphBuilder g, Module layer, OnnxValue x) => x with
    {
        Name = layer switch
        {
            ReLU => g.Op("Relu", x.Name),
            Tanh => g.Tanh(x.Name),
            Sigmoid => g.Sigmoid(x.Name),
            NormSharp.Layers.Gelu { Approximate: F.GeluApproximation.Tanh } => GeluTanh(g, x.Name),
            NormSharp.Layers.Gelu => Gelu(g, x.Name),
            SiLU => g.Mul(x.Name, g.Sigmoid(x.Name)),
            _ => throw new ArgumentException($"{layer.GetType().Name} is not an activation.", nameof(layer)),
        },
    };

    /// <summary>The exact (erf) GELU of <paramref name="x"/>.</summary>
    public static string Gelu(OnnxGraphBuilder g, string x)
    {
        if (g.Opset >= 20) return g.Op("Gelu", [x], ("approximate", "none"));
        var erf = g.Op("Erf", g.Mul(x, g.Scalar("inv_sqrt2", 0.70710678118654752f)));
        return g.Mul(g.Mul(x, g.Scalar("half", 0.5f)), g.Add(erf, g.Scalar("one", 1f)));
    }

    /// <summary>GELU's tanh approximation of <paramref name="x"/>: x/2·(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    public static string GeluTanh(OnnxGraphBuilder g, string x)
    {
        if (g.Opset >= 20) return g.Op("Gelu", [x], ("approximate", "tanh"));
        var cube = g.Mul(g.Mul(x, x), x);
        var inner = g.Mul(g.Add(x, g.Mul(cube, g.Scalar("gelu_cubic", 0.044715f))), g.Scalar("sqrt_2_over_pi", 0.79788456080286536f));
        return g.Mul(g.Mul(x, g.Scalar("half", 0.5f)), g.Add(g.Tanh(inner), g.Scalar("one", 1f)));
    }
}
