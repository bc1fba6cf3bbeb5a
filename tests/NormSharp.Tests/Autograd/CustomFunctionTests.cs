using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Tests.Autograd;

/// <summary>Users define operations with their own backward pass and check them with the public gradient checker.</summary>
public class CustomFunctionTests
{
    /// <summary>y = a·sin(b), elementwise.</summary>
    private sealed class ScaledSine : CustomFunction
    {
        protected override Tensor Forward(FunctionContext ctx, IReadOnlyList<Tensor> inputs)
        {
            var (a, b) = (inputs[0], inputs[1]);
            ctx.SaveForBackward(a, b);
            var y = Tensor.Zeros(a.Shape);
            for (int i = 0; i < a.Length; i++) y[i] = a[i] * MathF.Sin(b[i]);
            return y;
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gradOutput)
        {
            var (a, b) = (ctx.SavedTensors[0], ctx.SavedTensors[1]);
            var da = ctx.NeedsInputGrad(0) ? Tensor.Zeros(a.Shape) : null;
            var db = ctx.NeedsInputGrad(1) ? Tensor.Zeros(b.Shape) : null;
            for (int i = 0; i < a.Length; i++)
            {
                if (da is not null) da[i] = MathF.Sin(b[i]) * gradOutput[i];
                if (db is not null) db[i] = a[i] * MathF.Cos(b[i]) * gradOutput[i];
            }
            return [da, db];
        }
    }

    /// <summary>A function whose backward is wrong on purpose: twice the true gradient.</summary>
    private sealed class WrongSquare : CustomFunction
    {
        protected override Tensor Forward(FunctionContext ctx, IReadOnlyList<Tensor> inputs)
        {
            ctx.SaveForBackward(inputs[0]);
            var y = inputs[0].Clone();
            for (int i = 0; i < y.Length; i++) y[i] *= y[i];
            return y;
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gradOutput)
        {
            var x = ctx.SavedTensors[0];
            var dx = Tensor.Zeros(x.Shape);
            for (int i = 0; i < x.Length; i++) dx[i] = 4 * x[i] * gradOutput[i];
            return [dx];
        }
    }

    private sealed class BadShape : CustomFunction
    {
        protected override Tensor Forward(FunctionContext ctx, IReadOnlyList<Tensor> inputs) => inputs[0].Clone();
        protected override Tensor?[] Backward(FunctionContext ctx, Tensor gradOutput) => [Tensor.Zeros(7)];
    }

    private static Variable Param(ulong seed, int n)
    {
        var t = Tensor.Zeros(n);
        new Rng(seed).FillUniform(t.Span, -2, 2);
        return Variable.Parameter(t);
    }

    [Fact]
    public void ACustomFunctionPassesTheGradientCheckInsideALargerGraph()
    {
        var a = Param(1, 5);
        var b = Param(2, 5);
        var worst = GradCheck.Check(() => F.Tanh(new ScaledSine().Apply(F.Tanh(a), b)), [a, b]);
        Assert.True(worst.Error <= 1);
    }

    [Fact]
    public void AWrongBackwardIsCaughtByTheGradientCheck()
    {
        var x = Param(3, 4);
        var e = Assert.Throws<GradientCheckException>(() => GradCheck.Check(() => new WrongSquare().Apply(x), [x]));
        Assert.Contains("finite differences", e.Message);
    }

    [Fact]
    public void AGradientOfTheWrongShapeNamesTheFunctionAndTheInput()
    {
        var x = Param(4, 3);
        var y = F.Sum(new BadShape().Apply(x));
        var e = Assert.Throws<ShapeMismatchException>(() => y.Backward());
        Assert.Contains("BadShape", e.Message);
        Assert.Contains("[7]", e.Message);
    }

    [Fact]
    public void ASavedTensorModifiedBeforeBackwardIsRefused()
    {
        var x = Param(5, 3);
        var c = Tensor.Zeros(3);
        var y = F.Sum(new ScaledSine().Apply(x, Variable.Constant(c)));
        c.MarkModified();
        Assert.Throws<StaleVariableException>(() => y.Backward());
    }

    [Fact]
    public void UnderNoGradACustomFunctionRecordsNothing()
    {
        var x = Param(6, 3);
        using var _ = GradMode.NoGrad();
        var y = new ScaledSine().Apply(x, x);
        Assert.False(y.RequiresGrad);
    }
}
