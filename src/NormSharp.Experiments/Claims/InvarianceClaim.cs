using NormSharp.Autograd;
using NormSharp.Tensors;

namespace NormSharp.Experiments.Claims;

/// <summary>G: the paper's Table 1, measured: which transformations leave each method's normalized summed inputs unchanged.</summary>
public static class InvarianceClaim
{
    /// <summary>The transformations of the table's columns.</summary>
    public static readonly string[] Transformations =
        ["weight matrix re-scaling", "weight matrix re-centering", "weight vector re-scaling", "dataset re-scaling", "dataset re-centering", "single training case re-scaling"];

    /// <summary>The methods of the table's rows.</summary>
    public static readonly string[] Methods = ["batch norm", "weight norm", "layer norm"];

    /// <summary>The paper's table: Expected[method][transformation].</summary>
    public static readonly bool[][] Expected =
    [
        [true, false, true, true, true, false],
        [true, false, true, false, false, false],
        [true, true, false, true, false, true],
    ];

    /// <summary>Largest relative change counted as invariant (float32 arithmetic; eps 1e-10): <see cref="VerdictRules.InvarianceTolerance"/>.</summary>
    public const double Threshold = VerdictRules.InvarianceTolerance;

    /// <summary>The claim's entry in the suite (deterministic: it trains nothing).</summary>
    public static ClaimDefinition Definition { get; } = new("G", ClaimSource.Paper, "the invariance table (the paper's Table 1)", _ => Run(), ClaimInput.None);

    /// <summary>Measures every cell over <paramref name="trials"/> random draws and compares with the paper's table.</summary>
    public static ClaimResult Run(int trials = 3)
    {
        var worst = new double[Methods.Length, Transformations.Length];
        for (int trial = 0; trial < trials; trial++)
        {
            var rng = new Rng((ulong)(100 + trial));
            var w = Tensor.Zeros(6, 8);
            var x = Tensor.Zeros(10, 8);
            var gamma = Tensor.Zeros(8);
            rng.FillNormal(w.Span, 0, 1);
            rng.FillNormal(x.Span, 0, 1);
            rng.FillNormal(gamma.Span, 0, 1);
            for (int m = 0; m < Methods.Length; m++)
            {
                var baseline = Normalized(m, w, x);
                for (int t = 0; t < Transformations.Length; t++)
                {
                    var (w2, x2) = Transform(t, w, x, gamma);
                    var changed = Normalized(m, w2, x2);
                    double scale = baseline.Max(Math.Abs);
                    double dev = baseline.Zip(changed, (a, b) => Math.Abs(a - b)).Max() / scale;
                    worst[m, t] = Math.Max(worst[m, t], dev);
                }
            }
        }
        var cells = new List<(bool Expected, double Change)>();
        var evidence = new Dictionary<string, double>();
        var rows = new List<string[]>();
        for (int m = 0; m < Methods.Length; m++)
        {
            var row = new List<string> { Methods[m] };
            for (int t = 0; t < Transformations.Length; t++)
            {
                bool measured = worst[m, t] < Threshold;
                cells.Add((Expected[m][t], worst[m, t]));
                evidence[$"max_relative_change.{Methods[m].Replace(' ', '_')}.{Transformations[t].Replace(' ', '_')}"] = worst[m, t];
                string mark = measured ? "invariant" : "no";
                string agree = measured == Expected[m][t] ? "" : " (paper: " + (Expected[m][t] ? "invariant" : "no") + ")";
                row.Add($"{mark} ({worst[m, t]:E1}){agree}");
            }
            rows.Add([.. row]);
        }
        return new ClaimResult
        {
            Id = "G",
            Title = "The invariance properties of batch, weight and layer normalization agree with the paper's Table 1 in all 18 cells",
            Setup = $"Summed inputs a = W·x of 6 units from 8 inputs over a dataset of 10 cases, W and x standard normal, {trials} draws. Normalized outputs: batch norm over the cases (batch statistics), weight norm g·(v·x)/‖v‖ with g = 1, layer norm over the 6 units; eps 1e-10, float32, through NormSharp's own operations. Each transformation is applied and the largest change of the normalized outputs is measured relative to their largest magnitude.",
            Rule = $"a cell counts as invariant when the largest relative change is below {Threshold:G1}; supported if all 18 cells agree with the paper's table (the largest change among the cells it marks invariant is below {Threshold:G1} and the smallest among the others is not), not supported otherwise. The check is deterministic (fixed draws, exact float32 arithmetic): there is no sampling noise and so no interval; the margin is the distance of the worst cell from the threshold.",
            Findings = VerdictRules.InvarianceTable(cells),
            Seeds = [],
            Evidence = evidence,
            Tables = [new ReportTable("measured invariance (largest relative change in parentheses)", ["method", .. Transformations], rows)],
        };
    }

    private static (Tensor W, Tensor X) Transform(int t, Tensor w, Tensor x, Tensor gamma)
    {
        var w2 = w.Clone();
        var x2 = x.Clone();
        switch (t)
        {
            case 0: foreach (ref float v in w2.Span) v *= 3.7f; break;
            case 1:
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 8; j++) w2[i, j] += gamma[j];
                break;
            case 2:
                for (int j = 0; j < 8; j++) w2[2, j] *= 2.5f;
                break;
            case 3: foreach (ref float v in x2.Span) v *= 0.3f; break;
            case 4:
                for (int n = 0; n < 10; n++)
                    for (int j = 0; j < 8; j++) x2[n, j] += gamma[j];
                break;
            default:
                for (int j = 0; j < 8; j++) x2[4, j] *= 4f;
                break;
        }
        return (w2, x2);
    }

    private static float[] Normalized(int method, Tensor w, Tensor x)
    {
        using var _ = GradMode.NoGrad();
        var xv = Variable.Constant(x);
        switch (method)
        {
            case 0:
                var a = F.Linear(xv, Variable.Constant(w));
                return F.BatchNorm(a, null, null, null, null, training: true, eps: 1e-10f).Value.ToArray();
            case 1:
                var wn = F.WeightNorm(Variable.Constant(w), Variable.Constant(Tensor.Full(1f, 6, 1)));
                return F.Linear(xv, wn).Value.ToArray();
            default:
                return F.LayerNorm(F.Linear(xv, Variable.Constant(w)), [6], null, null, 1e-10f).Value.ToArray();
        }
    }
}
