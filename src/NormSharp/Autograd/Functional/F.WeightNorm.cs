using NormSharp.Errors;
using NormSharp.Kernels;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>
    /// The weight-normalized matrix w = g·v/‖v‖ row by row: <paramref name="v"/> is [out, in],
    /// <paramref name="g"/> holds one magnitude per row ([out, 1] or [out]).
    /// </summary>
    public static Variable WeightNorm(Variable v, Variable g)
    {
        Tape.CheckAlive(v, "WeightNorm");
        Tape.CheckAlive(g, "WeightNorm");
        if (v.Value.Rank != 2 || g.Value.Length != v.Value.Dim(0))
            throw new ShapeMismatchException($"WeightNorm: v must be [out, in] and g hold one value per row; got v {ShapeMismatchException.Format(v.Shape)} and g {ShapeMismatchException.Format(g.Shape)}.");
        int rows = v.Value.Dim(0), cols = v.Value.Dim(1);
        var tape = Tape.Current;
        var w = tape.Allocate(v.Shape);
        var norms = tape.Allocate(rows);
        var vs = v.Value.Span;
        var ws = w.Span;
        for (int r = 0; r < rows; r++)
        {
            var row = vs.Slice(r * cols, cols);
            float n = (float)Math.Sqrt(ElementwiseKernels.SumSquares(row));
            norms[r] = n;
            ElementwiseKernels.Scale(row, n > 0 ? g.Value[r] / n : 0f, ws.Slice(r * cols, cols));
        }
        if (!Tape.NeedsGrad(v, g)) return tape.Wrap(w);
        var node = tape.RentNode<WeightNormNode>();
        node.V = v;
        node.G = g;
        node.Norms = norms;
        return tape.Record(node, w);
    }

    private sealed class WeightNormNode : Node
    {
        public Variable V = null!, G = null!;
        public Tensors.Tensor Norms = null!;

        internal override void Backward(Tape tape)
        {
            int rows = V.Value.Dim(0), cols = V.Value.Dim(1);
            var dw = Output.Grad!.Span;
            var vs = V.Value.Span;
            var gv = tape.GradientFor(V);
            var gg = tape.GradientFor(G);
            for (int r = 0; r < rows; r++)
            {
                var row = vs.Slice(r * cols, cols);
                var drow = dw.Slice(r * cols, cols);
                float n = Norms[r];
                double dot = ElementwiseKernels.Dot(drow, row);
                if (gg is { } tg) tg.Buffer[r] = n > 0 ? (float)(dot / n) : 0f;
                if (gv is { } tv)
                {
                    // d(g·v/‖v‖)/dv = (g/‖v‖)(I − v vᵀ/‖v‖²): (g/‖v‖)·dw − (g/‖v‖)(dw·v/‖v‖²)·v
                    float gn = n > 0 ? G.Value[r] / n : 0f;
                    float proj = n > 0 ? (float)(dot / ((double)n * n)) : 0f;
                    var outRow = tv.Buffer.Span.Slice(r * cols, cols);
                    ElementwiseKernels.Scale(drow, gn, outRow);
                    ElementwiseKernels.AddScaled(outRow, row, -gn * proj);
                }
            }
            gv?.Commit();
            gg?.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            V = G = null!;
            Norms = null!;
        }
    }
}
