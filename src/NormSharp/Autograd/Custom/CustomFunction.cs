using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// A differentiable operation defined by its user (PyTorch's <c>torch.autograd.Function</c>): a
/// forward pass from the inputs' values to an output tensor, and a backward pass from the output's
/// gradient to the inputs' gradients. <see cref="Apply"/> records it on the tape like any built-in
/// operation. Check a new function with <see cref="GradCheck.Check"/>.
/// </summary>
/// <example>
/// <code>
/// sealed class Square : CustomFunction
/// {
///     protected override Tensor Forward(FunctionContext ctx, IReadOnlyList&lt;Tensor&gt; inputs)
///     {
///         var x = inputs[0];
///         ctx.SaveForBackward(x);
///         var y = Tensor.Zeros(x.Shape);
///         for (int i = 0; i &lt; x.Length; i++) y[i] = x[i] * x[i];
///         return y;
///     }
///
///     protected override Tensor?[] Backward(FunctionContext ctx, Tensor gradOutput)
///     {
///         var x = ctx.SavedTensors[0];
///         var dx = Tensor.Zeros(x.Shape);
///         for (int i = 0; i &lt; x.Length; i++) dx[i] = 2 * x[i] * gradOutput[i];
///         return [dx];
///     }
/// }
/// var y = new Square().Apply(x);
/// </code>
/// </example>
public abstract class CustomFunction
{
    /// <summary>The name used in error messages; the type's name unless overridden.</summary>
    public virtual string Name => GetType().Name;

    /// <summary>
    /// Computes the output from the inputs' values (never modify them). Save what the backward pass
    /// needs with <see cref="FunctionContext.SaveForBackward"/>. Runs with recording off, so operations
    /// used inside are not recorded.
    /// </summary>
    protected abstract Tensor Forward(FunctionContext ctx, IReadOnlyList<Tensor> inputs);

    /// <summary>
    /// Returns, for each input in order, the gradient of the objective with respect to it (the input's
    /// shape), given <paramref name="gradOutput"/>, the gradient with respect to the output. Return null
    /// for an input that needs none (see <see cref="FunctionContext.NeedsInputGrad"/>).
    /// </summary>
    protected abstract Tensor?[] Backward(FunctionContext ctx, Tensor gradOutput);

    /// <summary>Runs the function on <paramref name="inputs"/> and, while gradients are recorded, records it for the backward pass.</summary>
    public Variable Apply(params Variable[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is null) throw new ArgumentNullException(nameof(inputs), $"{Name}: input {i} is null.");
            Tape.CheckAlive(inputs[i], Name);
        }
        bool record = GradMode.IsEnabled && inputs.Any(v => v.RequiresGrad);
        var ctx = new FunctionContext(Name, inputs.Select(v => v.RequiresGrad).ToArray());
        var values = inputs.Select(v => v.Value).ToArray();
        Tensor output;
        using (GradMode.NoGrad()) output = Forward(ctx, values);
        if (output is null) throw new NormSharpException($"{Name}: Forward returned null.");
        var tape = Tape.Current;
        if (!record) return tape.Wrap(output);
        var node = tape.RentNode<CustomFunctionNode>();
        node.Function = this;
        node.Context = ctx;
        node.Inputs = inputs.ToArray();
        return tape.Record(node, output);
    }

    internal Tensor?[] RunBackward(FunctionContext ctx, Tensor gradOutput)
    {
        using (GradMode.NoGrad()) return Backward(ctx, gradOutput);
    }

    private sealed class CustomFunctionNode : Node
    {
        public CustomFunction Function = null!;
        public FunctionContext Context = null!;
        public Variable[] Inputs = [];

        internal override void Backward(Tape tape)
        {
            Context.CheckSavedUnchanged();
            var grads = Function.RunBackward(Context, Output.Grad!);
            string name = Function.Name;
            if (grads is null || grads.Length != Inputs.Length)
                throw new NormSharpException($"{name}: Backward returned {(grads is null ? "null" : grads.Length + " gradient(s)")} for {Inputs.Length} input(s); return one (or null) per input.");
            for (int i = 0; i < Inputs.Length; i++)
            {
                var input = Inputs[i];
                if (grads[i] is not { } g || !input.RequiresGrad) continue;
                if (!g.Shape.SequenceEqual(input.Value.Shape))
                    throw new ShapeMismatchException($"{name}: Backward returned a gradient of shape {ShapeMismatchException.Format(g.Shape)} for input {i}, whose shape is {ShapeMismatchException.Format(input.Value.Shape)}.");
                if (tape.GradientFor(input) is not { } target) continue;
                g.Span.CopyTo(target.Buffer.Span);
                target.Commit();
            }
        }

        internal override void Clear()
        {
            base.Clear();
            Function = null!;
            Context = null!;
            Inputs = [];
        }
    }
}
