using NormSharp.Layers;
using NormSharp.Onnx.Graph;

namespace NormSharp.Onnx.Exporters;

/// <summary>The activation layers; exact GELU is the <c>Gelu</c> operator from opset 20, x·½(1 + erf(x/√2)) below it.</summary>
internal static class ActivationExport
{
    public static OnnxValue Activation(OnnxGraphBuilder g, Module layer, OnnxValue x) => x with
    {
        Name = layer switch
        {
            ReLU => g.Op("Relu", x.Name),
            Tanh => g.Tanh(x.Name),
            Sigmoid => g.Sigmoid(x.Name),
            NormSharp.Layers.Gelu => Gelu(g, x.Name),
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
}
