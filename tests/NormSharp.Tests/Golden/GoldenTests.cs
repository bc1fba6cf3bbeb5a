using System.Text.Json;
using NormSharp.Autograd;
using NormSharp.IO.Safetensors;
using NormSharp.Tensors;

namespace NormSharp.Tests.Golden;

/// <summary>
/// Conformance with libtorch: one case per safetensors file in the folder named by
/// NORMSHARP_GOLDEN_DIR (default: the copy of tests/golden beside the test assembly), dispatched on its
/// <c>op</c> metadata. Outputs and gradients (of sum(y·dy)) must match at the folder README's tolerance.
/// </summary>
[Trait("Category", "Golden")]
public class GoldenTests
{
    public static string Directory =>
        Environment.GetEnvironmentVariable("NORMSHARP_GOLDEN_DIR") is { Length: > 0 } d ? d : Path.Combine(AppContext.BaseDirectory, "golden");

    private static IEnumerable<(string File, string Op)> Cases() =>
        System.IO.Directory.EnumerateFiles(Directory, "*.safetensors").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), SafetensorsFile.Read(f).Metadata.GetValueOrDefault("op", "")));

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var (file, _) in Cases()) data.Add(file);
        return data;
    }

    [Fact]
    public void TheGoldenFolderHoldsCases() => Assert.NotEmpty(Cases());

    [Theory]
    [MemberData(nameof(Files))]
    public void Case(string file)
    {
        var g = SafetensorsFile.Read(Path.Combine(Directory, file));
        string op = g.Metadata.GetValueOrDefault("op") ?? throw new Xunit.Sdk.XunitException($"{file}: no 'op' in the metadata");
        switch (op)
        {
            case "layer_norm": LayerNorm(g); break;
            case "rms_norm": RmsNorm(g); break;
            case "batch_norm": BatchNorm(g); break;
            case "group_norm": GroupNorm(g); break;
            case "lstm": Recurrent(g, NormSharp.Layers.Recurrent.CellKind.Lstm); break;
            case "ln_lstm": Recurrent(g, NormSharp.Layers.Recurrent.CellKind.LnLstm); break;
            case "gru": Recurrent(g, NormSharp.Layers.Recurrent.CellKind.Gru); break;
            case "ln_gru": Recurrent(g, NormSharp.Layers.Recurrent.CellKind.LnGru); break;
            case "attention": Attention(g); break;
            case "transformer_block": TransformerBlock(g); break;
            default: throw new Xunit.Sdk.XunitException($"{file}: unknown op '{op}'; GoldenTests has no handler for it");
        }
    }

    /// <summary>
    /// A recurrent case: the golden parameters are loaded into a one-layer <see cref="NormSharp.Layers.Recurrent.RecurrentLayer"/>,
    /// which runs x [T, B, I] from h0 (and c0); gradients are those of Σ y·dy + Σ hn·dhn (+ Σ cn·dcn).
    /// </summary>
    private static void Recurrent(SafetensorsFile g, NormSharp.Layers.Recurrent.CellKind kind)
    {
        var x = Param(g, "x");
        int inputSize = x.Value.Dim(2);
        var h0 = Param(g, "h0");
        int hidden = h0.Value.Dim(1);
        var layer = new NormSharp.Layers.Recurrent.RecurrentLayer(kind, inputSize, hidden, new Rng(1), forgetBias: 0f);
        var parameters = layer.NamedParameters().ToList();
        foreach (var (name, p) in parameters)
            p.Value.CopyFrom(g.GetTensor(name["cells.0.".Length..]));
        bool lstm = kind is NormSharp.Layers.Recurrent.CellKind.Lstm or NormSharp.Layers.Recurrent.CellKind.LnLstm;
        var c0 = lstm ? Param(g, "c0") : null;
        var result = layer.Run(x, [h0], c0 is null ? null : [c0]);
        var loss = F.Add(F.Sum(F.Mul(result.Outputs!, Variable.Constant(g.GetTensor("dy")))), F.Sum(F.Mul(result.FinalH[0], Variable.Constant(g.GetTensor("dhn")))));
        if (lstm) loss = F.Add(loss, F.Sum(F.Mul(result.FinalC[0], Variable.Constant(g.GetTensor("dcn")))));
        loss.Backward();
        const double R = 1e-3;
        Expect(g, "y", result.Outputs!.Value, R);
        Expect(g, "hn", result.FinalH[0].Value, R);
        if (lstm) Expect(g, "cn", result.FinalC[0].Value, R);
        Expect(g, "dx", x.Grad!, R);
        Expect(g, "dh0", h0.Grad!, R);
        if (c0 is not null) Expect(g, "dc0", c0.Grad!, R);
        foreach (var (name, p) in parameters) Expect(g, "d" + name["cells.0.".Length..], p.Grad!, R);
    }

    /// <summary>
    /// An <c>nn.MultiheadAttention</c> case (batch-first self-attention): the golden parameters are loaded into a
    /// <see cref="NormSharp.Layers.Transformer.MultiheadAttention"/> by their state-dict names.
    /// </summary>
    private static void Attention(SafetensorsFile g)
    {
        var x = Param(g, "x");
        int d = x.Value.Dim(2);
        var mha = new NormSharp.Layers.Transformer.MultiheadAttention(d, Int(g, "num_heads"), new Rng(1), batchFirst: true);
        LoadGoldenParameters(mha, g);
        var y = Backward(mha.Forward(x, g.Metadata["causal"] == "true"), g);
        Expect(g, "y", y.Value);
        Expect(g, "dx", x.Grad!);
        foreach (var (name, p) in mha.NamedParameters()) Expect(g, "d" + name, p.Grad!);
    }

    /// <summary>An <c>nn.TransformerEncoderLayer</c> case (dropout 0, batch-first), Pre-LN or Post-LN.</summary>
    private static void TransformerBlock(SafetensorsFile g)
    {
        var x = Param(g, "x");
        int d = x.Value.Dim(2);
        var activation = g.Metadata["activation"] switch
        {
            "gelu" => F.Activation.Gelu,
            "relu" => F.Activation.Relu,
            var a => throw new Xunit.Sdk.XunitException($"{g.Source}: unknown activation '{a}'"),
        };
        var block = new NormSharp.Layers.Transformer.TransformerEncoderLayer(d, Int(g, "num_heads"), new Rng(1),
            dimFeedforward: g.GetTensor("linear1.weight").Dim(0), dropout: 0f, activation: activation, layerNormEps: Float(g, "eps"),
            batchFirst: true, normFirst: g.Metadata["norm_first"] == "true");
        LoadGoldenParameters(block, g);
        var y = Backward(block.Forward(x, g.Metadata["causal"] == "true"), g);
        Expect(g, "y", y.Value);
        Expect(g, "dx", x.Grad!);
        foreach (var (name, p) in block.NamedParameters()) Expect(g, "d" + name, p.Grad!);
    }

    /// <summary>Copies the case's tensors named like the module's parameters into them (every parameter must be there).</summary>
    private static void LoadGoldenParameters(NormSharp.Layers.Module module, SafetensorsFile g) =>
        module.LoadStateDict(module.StateDict().Select(e => (e.Name, g.GetTensor(e.Name))));

    private static int Int(SafetensorsFile g, string key) => int.Parse(g.Metadata[key], System.Globalization.CultureInfo.InvariantCulture);

    private static Variable Param(SafetensorsFile g, string name) => Variable.Parameter(g.GetTensor(name), name);

    private static Variable? OptionalParam(SafetensorsFile g, string name) => g.Contains(name) ? Param(g, name) : null;

    private static int[] IntList(SafetensorsFile g, string key) => JsonSerializer.Deserialize<int[]>(g.Metadata[key])!;

    private static float Float(SafetensorsFile g, string key) => float.Parse(g.Metadata[key], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Runs backward of sum(y·dy) and returns y.</summary>
    private static Variable Backward(Variable y, SafetensorsFile g)
    {
        F.Sum(F.Mul(y, Variable.Constant(g.GetTensor("dy")))).Backward();
        return y;
    }

    private static void LayerNorm(SafetensorsFile g)
    {
        var x = Param(g, "x");
        var w = OptionalParam(g, "weight");
        var b = OptionalParam(g, "bias");
        int[] shape = IntList(g, "normalized_shape");
        var y = Backward(F.LayerNorm(x, shape, w, b, Float(g, "eps")), g);
        Expect(g, "y", y.Value);
        // mean and rstd come from the kernel directly, as the node keeps them internal.
        int cols = shape.Aggregate(1, (a, d) => a * d);
        int rows = x.Value.Length / cols;
        var mean = new float[rows];
        var rstd = new float[rows];
        var scratch = new float[x.Value.Length];
        NormSharp.Kernels.Normalization.LayerNormKernels.Forward(x.Value.Span, w is null ? default : w.Value.Span, b is null ? default : b.Value.Span, scratch, mean, rstd, rows, cols, Float(g, "eps"));
        Expect(g, "mean", Tensor.FromValues(mean, rows));
        Expect(g, "rstd", Tensor.FromValues(rstd, rows));
        Expect(g, "dx", x.Grad!);
        if (w is not null) Expect(g, "dweight", w.Grad!);
        if (b is not null) Expect(g, "dbias", b.Grad!);
    }

    private static void RmsNorm(SafetensorsFile g)
    {
        var x = Param(g, "x");
        var w = OptionalParam(g, "weight");
        int[] shape = IntList(g, "normalized_shape");
        var y = Backward(F.RmsNorm(x, shape, w, Float(g, "eps")), g);
        Expect(g, "y", y.Value);
        int cols = shape.Aggregate(1, (a, d) => a * d);
        int rows = x.Value.Length / cols;
        var rrms = new float[rows];
        NormSharp.Kernels.Normalization.RmsNormKernels.Forward(x.Value.Span, w is null ? default : w.Value.Span, new float[x.Value.Length], rrms, rows, cols, Float(g, "eps"));
        Expect(g, "rrms", Tensor.FromValues(rrms, rows));
        Expect(g, "dx", x.Grad!);
        if (w is not null) Expect(g, "dweight", w.Grad!);
    }

    private static void BatchNorm(SafetensorsFile g)
    {
        var x = Param(g, "x");
        var w = Param(g, "weight");
        var b = Param(g, "bias");
        var rm = g.GetTensor("running_mean_in");
        var rv = g.GetTensor("running_var_in");
        bool training = g.Metadata["training"] == "true";
        var y = Backward(F.BatchNorm(x, w, b, rm, rv, training, Float(g, "momentum"), Float(g, "eps")), g);
        Expect(g, "y", y.Value);
        Expect(g, "running_mean_out", rm);
        Expect(g, "running_var_out", rv);
        Expect(g, "dx", x.Grad!);
        Expect(g, "dweight", w.Grad!);
        Expect(g, "dbias", b.Grad!);
    }

    private static void GroupNorm(SafetensorsFile g)
    {
        var x = Param(g, "x");
        var w = Param(g, "weight");
        var b = Param(g, "bias");
        int groups = int.Parse(g.Metadata["num_groups"], System.Globalization.CultureInfo.InvariantCulture);
        var y = Backward(F.GroupNorm(x, groups, w, b, Float(g, "eps")), g);
        Expect(g, "y", y.Value);
        Expect(g, "dx", x.Grad!);
        Expect(g, "dweight", w.Grad!);
        Expect(g, "dbias", b.Grad!);
    }

    /// <summary>|actual − expected| ≤ 1e-4 + 1e-4·|expected| everywhere; the failure names the worst element.</summary>
    internal static void Expect(SafetensorsFile g, string name, Tensor actual, double rtol = 1e-4)
    {
        var expected = g.GetTensor(name);
        Assert.True(expected.Shape.SequenceEqual(actual.Shape) || expected.Length == actual.Length,
            $"{g.Source}: {name} has shape {Errors.ShapeMismatchException.Format(actual.Shape)}, expected {Errors.ShapeMismatchException.Format(expected.Shape)}");
        var e = expected.Span;
        var a = actual.Span;
        int worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double tol = 1e-4 + rtol * Math.Abs(e[i]);
            double ratio = Math.Abs(a[i] - e[i]) / tol;
            if (double.IsNaN(ratio)) ratio = double.PositiveInfinity;
            if (ratio > worstRatio) { worstRatio = ratio; worst = i; }
        }
        Assert.True(worstRatio <= 1.0, $"{Path.GetFileName(g.Source)}: {name}[{worst}] = {(worst >= 0 ? a[worst] : 0)}, expected {(worst >= 0 ? e[worst] : 0)} ({worstRatio:F2}× the tolerance)");
    }
}
