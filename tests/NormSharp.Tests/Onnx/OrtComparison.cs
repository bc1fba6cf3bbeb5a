using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NormSharp.Autograd;
using NormSharp.Layers;
using NormSharp.Onnx;
using Tensor = NormSharp.Tensors.Tensor;

namespace NormSharp.Tests.Onnx;

/// <summary>
/// Runs an exported model in ONNX Runtime and compares it with NormSharp's own evaluation-mode output within
/// 1e-5 + 1e-5·|expected|, reporting the largest error measured.
/// </summary>
internal sealed class OrtComparison : IDisposable
{
    public const double Absolute = 1e-5, Relative = 1e-5;

    private readonly InferenceSession _session;
    private readonly string _inputName;

    public OrtComparison(byte[] model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        _session = new InferenceSession(model, options);
        _inputName = _session.InputMetadata.Keys.Single();
    }

    public static OrtComparison Export(Module model, OnnxExportOptions? options = null) => new(OnnxExport.ToBytes(model, options));

    /// <summary>The session's input metadata (dimensions, −1 where dynamic).</summary>
    public NodeMetadata Input => _session.InputMetadata[_inputName];

    /// <summary>The session's output metadata.</summary>
    public NodeMetadata Output => _session.OutputMetadata.Values.Single();

    /// <summary>ONNX Runtime's output for <paramref name="input"/>.</summary>
    public Tensor Run(Tensor input)
    {
        var x = new DenseTensor<float>(input.ToArray(), input.Shape.ToArray());
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_inputName, x)]);
        var y = results.Single().AsTensor<float>();
        return Tensor.FromValues(y.ToArray(), y.Dimensions.ToArray());
    }

    /// <summary>Largest absolute error and largest error relative to the tolerance of ONNX Runtime against <paramref name="model"/> on <paramref name="input"/>; fails beyond the tolerance.</summary>
    public (double MaxError, double ToleranceUsed) Check(Module model, Tensor input, string label)
    {
        Tensor expected;
        using (GradMode.NoGrad()) expected = model.Forward(Variable.Constant(input)).Value.Clone();
        var actual = Run(input);
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        var e = expected.Span;
        var a = actual.Span;
        double maxError = 0, maxRatio = 0;
        int worst = -1; // stays −1 when every element matches exactly
        for (int i = 0; i < e.Length; i++)
        {
            double err = Math.Abs((double)a[i] - e[i]);
            double ratio = err / (Absolute + Relative * Math.Abs(e[i]));
            if (!(ratio <= maxRatio)) { maxRatio = ratio; worst = i; }
            maxError = Math.Max(maxError, err);
        }
        if (worst >= 0 && !(maxRatio <= 1))
            Assert.Fail($"{label}: ONNX Runtime differs from NormSharp at element {worst}: expected {e[worst]:R}, got {a[worst]:R} (error {maxError:E2}, {maxRatio:F2}× the tolerance 1e-5 + 1e-5·|expected|).");
        return (maxError, maxRatio);
    }

    public void Dispose() => _session.Dispose();
}
