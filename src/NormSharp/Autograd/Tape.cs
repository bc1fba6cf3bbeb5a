using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// Records operations in the order they run (define-by-run) and owns the memory of one step: values,
/// gradients and nodes of intermediate results. After a backward pass, the next recorded operation
/// starts a new step and recycles that memory; since a training step repeats the same operations, the
/// tape then replays its buffers and a steady-state step allocates nothing.
/// </summary>
public sealed class Tape
{
    [ThreadStatic] private static Tape? _current;

    private readonly TensorArena _arena = new();
    private readonly List<Node> _recorded = new();
    private readonly List<Node> _nodePool = new();
    private readonly List<Variable> _variablePool = new();
    private int _variableCursor;
    private bool _finished;

    /// <summary>The tape operations record on for this thread (one per thread, created on first use).</summary>
    public static Tape Current => _current ??= new Tape();

    /// <summary>Counts steps; variables from an older generation may no longer be used.</summary>
    internal int Generation { get; private set; } = 1;

    /// <summary>Number of operations recorded in the current step.</summary>
    public int RecordedCount => _recorded.Count;

    /// <summary>Drops the current step: every intermediate variable recorded so far becomes invalid.</summary>
    public void Reset()
    {
        foreach (var n in _recorded) n.Clear();
        _recorded.Clear();
        _arena.Reset();
        _variableCursor = 0;
        _finished = false;
        Generation++;
    }

    /// <summary>Throws if <paramref name="v"/> is an intermediate result of a step that has ended.</summary>
    internal static void CheckAlive(Variable v, string op)
    {
        // After a backward pass the next recording operation recycles the step's memory, so the step's
        // intermediates may only be read (or used under NoGrad, which records and recycles nothing).
        if (v.Tape is { } t && (v.Generation != t.Generation || (t._finished && GradMode.IsEnabled)))
            throw new NormSharpException($"{op}: the input {v} was computed in an earlier step whose memory has been recycled; recompute it, or compute it under GradMode.NoGrad to keep it.");
    }

    /// <summary>Starts a step if the last one finished with a backward pass.</summary>
    private void BeginRecording()
    {
        if (_finished) Reset();
    }

    /// <summary>
    /// A tensor for an operation's output or scratch. While recording it comes from the step's arena;
    /// in inference mode it is freshly allocated so it outlives any step.
    /// </summary>
    internal Tensor Allocate(params ReadOnlySpan<int> shape)
    {
        if (!GradMode.IsEnabled) return Tensor.Zeros(shape);
        BeginRecording();
        return _arena.Rent(shape);
    }

    /// <summary>True when an operation over <paramref name="a"/> must be recorded.</summary>
    internal static bool NeedsGrad(Variable a) => GradMode.IsEnabled && a.RequiresGrad;

    /// <summary>True when an operation over these inputs must be recorded.</summary>
    internal static bool NeedsGrad(Variable a, Variable? b, Variable? c = null) =>
        GradMode.IsEnabled && (a.RequiresGrad || (b?.RequiresGrad ?? false) || (c?.RequiresGrad ?? false));

    /// <summary>Wraps an operation's output without recording (inference, or no input needs a gradient).</summary>
    internal Variable Wrap(Tensor value)
    {
        if (!GradMode.IsEnabled) return Variable.Constant(value);
        BeginRecording();
        var v = NextVariable(value, requiresGrad: false);
        return v;
    }

    /// <summary>A node of type <typeparamref name="TNode"/> for the next recorded operation, reused from an earlier step when possible.</summary>
    internal TNode RentNode<TNode>() where TNode : Node, new()
    {
        BeginRecording();
        int i = _recorded.Count;
        TNode node;
        if (i < _nodePool.Count && _nodePool[i] is TNode reused) node = reused;
        else
        {
            node = new TNode();
            if (i < _nodePool.Count) _nodePool[i] = node;
            else _nodePool.Add(node);
        }
        return node;
    }

    /// <summary>Records <paramref name="node"/> as producing <paramref name="value"/> and returns the output variable.</summary>
    internal Variable Record(Node node, Tensor value)
    {
        var v = NextVariable(value, requiresGrad: true);
        v.Creator = node;
        node.Output = v;
        _recorded.Add(node);
        return v;
    }

    private Variable NextVariable(Tensor value, bool requiresGrad)
    {
        Variable v;
        if (_variableCursor < _variablePool.Count && _variablePool[_variableCursor].RequiresGrad == requiresGrad)
        {
            v = _variablePool[_variableCursor];
            v.ReplaceValue(value);
            v.Generation = Generation;
        }
        else
        {
            v = new Variable(value, requiresGrad, this, Generation);
            if (_variableCursor < _variablePool.Count) _variablePool[_variableCursor] = v;
            else _variablePool.Add(v);
        }
        _variableCursor++;
        v.Creator = null;
        v.Grad = null;
        v.HasGrad = false;
        return v;
    }

    /// <summary>
    /// Where a node writes the gradient of <paramref name="v"/>. Returns null when <paramref name="v"/>
    /// needs no gradient; otherwise the caller writes into the buffer and then calls
    /// <see cref="GradientTarget.Commit"/>.
    /// </summary>
    internal GradientTarget? GradientFor(Variable v)
    {
        if (!v.RequiresGrad) return null;
        if (!v.HasGrad)
        {
            v.Grad ??= _arena.Rent(v.Value.Shape);
            v.HasGrad = true;
            return new GradientTarget(v.Grad, null);
        }
        return new GradientTarget(_arena.Rent(v.Value.Shape), v.Grad);
    }

    /// <summary>
    /// The gradient tensor of <paramref name="v"/> for kernels that can accumulate themselves (GEMM's beta):
    /// returns null when no gradient is needed, else the tensor and whether to add to it (beta 1) or overwrite (beta 0).
    /// </summary>
    internal Tensor? GradientForAccumulatingKernel(Variable v, out bool accumulate)
    {
        accumulate = false;
        if (!v.RequiresGrad) return null;
        if (v.HasGrad)
        {
            accumulate = true;
            return v.Grad!;
        }
        v.Grad ??= _arena.Rent(v.Value.Shape);
        v.HasGrad = true;
        return v.Grad;
    }

    /// <summary>Runs the recorded nodes backwards from <paramref name="loss"/>.</summary>
    internal void Backward(Variable loss)
    {
        CheckAlive(loss, "Backward");
        if (_finished)
            throw new NormSharpException("Backward: this step's graph was already used by a backward pass; run the forward pass again.");
        int end = _recorded.IndexOf(loss.Creator!);
        if (end < 0) throw new NormSharpException("Backward: the loss was not recorded on this tape.");
        loss.Grad = _arena.Rent(loss.Value.Shape);
        loss.Grad.Span.Fill(1f);
        loss.HasGrad = true;
        for (int i = end; i >= 0; i--)
        {
            var node = _recorded[i];
            if (node.Output.HasGrad) node.Backward(this);
        }
        _finished = true;
    }
}
