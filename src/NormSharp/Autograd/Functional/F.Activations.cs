using NormSharp.Kernels;

namespace NormSharp.Autograd;

public static partial class F
{
    /// <summary>The activations the layers offer.</summary>
    public enum Activation
    {
        /// <summary>max(0, x).</summary>
        Relu,
        /// <summary>Hyperbolic tangent.</summary>
        Tanh,
        /// <summary>Logistic sigmoid.</summary>
        Sigmoid,
        /// <summary>Gaussian error linear unit, exact erf form (PyTorch's default).</summary>
        Gelu,
        /// <summary>GELU's tanh approximation (PyTorch's <c>gelu(approximate="tanh")</c>).</summary>
        GeluTanh,
        /// <summary>x·σ(x), the sigmoid linear unit (PyTorch's <c>silu</c>, also called swish).</summary>
        Silu,
    }

    /// <summary>Which form of GELU to compute (PyTorch's <c>approximate</c> argument).</summary>
    public enum GeluApproximation
    {
        /// <summary>The exact x·Φ(x) with the normal CDF (PyTorch's <c>"none"</c>).</summary>
        None,
        /// <summary>x/2·(1 + tanh(√(2/π)(x + 0.044715x³))) (PyTorch's <c>"tanh"</c>).</summary>
        Tanh,
    }

    /// <summary>max(0, x), elementwise.</summary>
    public static Variable Relu(Variable x) => Activate(x, Activation.Relu);

    /// <summary>tanh(x), elementwise.</summary>
    public static Variable Tanh(Variable x) => Activate(x, Activation.Tanh);

    /// <summary>1 / (1 + exp(−x)), elementwise.</summary>
    public static Variable Sigmoid(Variable x) => Activate(x, Activation.Sigmoid);

    /// <summary>x·Φ(x) with the exact normal CDF elementwise, or its tanh approximation (PyTorch's <c>gelu(approximate)</c>).</summary>
    public static Variable Gelu(Variable x, GeluApproximation approximate = GeluApproximation.None) =>
        Activate(x, approximate switch
        {
            GeluApproximation.None => Activation.Gelu,
            GeluApproximation.Tanh => Activation.GeluTanh,
            _ => throw new ArgumentOutOfRangeException(nameof(approximate), approximate, "Gelu: unknown approximation."),
        });

    /// <summary>x·σ(x) elementwise (PyTorch's <c>silu</c>).</summary>
    public static Variable Silu(Variable x) => Activate(x, Activation.Silu);

    /// <summary>Applies <paramref name="kind"/> elementwise.</summary>
    public static Variable Activate(Variable x, Activation kind)
    {
        Tape.CheckAlive(x, Name(kind));
        var tape = Tape.Current;
        var y = tape.Allocate(x.Shape);
        var xs = x.Value.Span;
        var ys = y.Span;
        switch (kind)
        {
            case Activation.Relu: ActivationKernels.ReluForward(xs, ys); break;
            case Activation.Tanh: ActivationKernels.TanhForward(xs, ys); break;
            case Activation.Sigmoid: ActivationKernels.SigmoidForward(xs, ys); break;
            case Activation.Gelu: ActivationKernels.GeluForward(xs, ys); break;
            case Activation.GeluTanh: ActivationKernels.GeluTanhForward(xs, ys); break;
            case Activation.Silu: ActivationKernels.SiluForward(xs, ys); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
        if (!Tape.NeedsGrad(x)) return tape.Wrap(y);
        var node = tape.RentNode<ActivationNode>();
        node.X = x;
        node.Kind = kind;
        return tape.Record(node, y);
    }

    /// <summary>The activation's name for messages (a switch rather than ToString, which boxes the enum on every call).</summary>
    private static string Name(Activation kind) => kind switch
    {
        Activation.Relu => "Relu",
        Activation.Tanh => "Tanh",
        Activation.Sigmoid => "Sigmoid",
        Activation.Gelu => "Gelu",
        Activation.GeluTanh => "Gelu",
        Activation.Silu => "Silu",
        _ => "Activate",
    };

    private sealed class ActivationNode : Node
    {
        public Variable X = null!;
        public Activation Kind;

        internal override void Backward(Tape tape)
        {
            if (tape.GradientFor(X) is not { } gx) return;
            var dy = Output.Grad!.Span;
            var y = Output.Value.Span;
            var dx = gx.Buffer.Span;
            switch (Kind)
            {
                case Activation.Relu: ActivationKernels.ReluBackward(dy, y, dx); break;
                case Activation.Tanh: ActivationKernels.TanhBackward(dy, y, dx); break;
                case Activation.Sigmoid: ActivationKernels.SigmoidBackward(dy, y, dx); break;
                case Activation.Gelu: ActivationKernels.GeluBackward(dy, X.Value.Span, dx); break;
                case Activation.GeluTanh: ActivationKernels.GeluTanhBackward(dy, X.Value.Span, dx); break;
                case Activation.Silu: ActivationKernels.SiluBackward(dy, X.Value.Span, dx); break;
            }
            gx.Commit();
        }

        internal override void Clear()
        {
            base.Clear();
            X = null!;
        }
    }
}
