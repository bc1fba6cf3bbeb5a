using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// Records operations in the order they run (define-by-run) and owns the memory of one step: the values,
/// gradients and nodes of intermediate results. A step ends with a backward pass; the next recorded
/// operation starts a new step and reuses that memory. Since a training step repeats the same
/// operations, the tape then replays its buffers and a steady-state step allocates only the small
/// <see cref="Variable"/> objects it hands out.
/// </summary>
/// <remarks>
/// Each thread records on its own tape (<see cref="Current"/>): run a step's forward and backward pass on
/// one thread. Forward passes that never reach a backward pass (evaluation outside
/// <see cref="GradMode.NoGrad"/>) do not pile up: once their results are no longer referenced, the tape
/// finds them at its next collection and reuses their memory. Graphs that are still referenced are
/// kept, up to <see cref="MemoryLimitBytes"/>; beyond it a <see cref="TapeMemoryException"/> says so.
/// </remarks>
public sealed class Tape
{
    [ThreadStatic] private static Tape? _current;

    // A node pool indexed by a node's position in its step, so a repeated step gets back the same objects.
    private const int MaxPooledNodes = 1 << 16;
    private const long MinCollectionBytes = 64L << 20;

    private readonly TensorArena _arena = new();
    private readonly List<SegmentEntry> _segments = new();
    private readonly List<Node?> _nodePool = new();
    private readonly Stack<Segment> _freeSegments = new();
    private readonly Stack<WeakReference<Segment>> _freeWeakReferences = new();
    private readonly List<Variable> _hookedLeaves = new();
    private Segment? _currentSegment;
    private int _nextSeq;
    private bool _finished;
    private bool _inBackward;
    private bool _opOpen;
    private bool _opReadsCurrent;
    private readonly List<Segment> _opReads = new();
    private string? _freedBy;
    private long _bytesAfterCollection;
    private long _largestStepBytes;

    /// <summary>The tape operations record on for this thread (one per thread, created on first use).</summary>
    public static Tape Current => _current ??= new Tape();

    /// <summary>Counts steps; a variable computed in an earlier step may no longer be used.</summary>
    public int Generation { get; private set; } = 1;

    /// <summary>Number of operations recorded in the current step (including forward passes still referenced).</summary>
    public int RecordedCount
    {
        get
        {
            int n = 0;
            foreach (var e in _segments)
                if (e.Get() is { } s) n += s.Nodes.Count;
            return n;
        }
    }

    /// <summary>Bytes of values and gradients the current step uses.</summary>
    public long BytesInUse => _arena.BytesInUse;

    /// <summary>Bytes the tape keeps for reuse, in use or not; <see cref="Release"/> gives them back.</summary>
    public long BytesHeld => _arena.BytesHeld;

    /// <summary>
    /// The most memory that graphs recorded without a backward pass, and still referenced, may hold
    /// before an operation throws <see cref="TapeMemoryException"/>. Defaults to half the memory
    /// available to the process.
    /// </summary>
    public long MemoryLimitBytes { get; set; } = Math.Max(MinCollectionBytes, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2);

    /// <summary>Drops the current step: every intermediate variable recorded so far becomes invalid and its memory is reused.</summary>
    public void Reset()
    {
        foreach (var entry in _segments)
        {
            if (entry.Get() is { } segment)
            {
                foreach (var node in segment.Nodes)
                {
                    node.Clear();
                    if (node.Seq < MaxPooledNodes)
                    {
                        while (_nodePool.Count <= node.Seq) _nodePool.Add(null);
                        _nodePool[node.Seq] = node;
                    }
                }
                segment.Clear();
                _freeSegments.Push(segment);
            }
            ReturnWeakReference(entry.Weak);
        }
        _segments.Clear();
        _currentSegment = null;
        _arena.Reset();
        _hookedLeaves.Clear();
        _nextSeq = 0;
        _finished = false;
        _opOpen = false;
        _opReadsCurrent = false;
        _opReads.Clear();
        _freedBy = null;
        _bytesAfterCollection = 0;
        Generation++;
    }

    /// <summary>Drops the current step and lets go of every buffer the tape keeps, so the memory can be collected.</summary>
    public void Release()
    {
        Reset();
        _arena.Release();
        _nodePool.Clear();
        _freeSegments.Clear();
        _freeWeakReferences.Clear();
    }

    /// <summary>
    /// Checks that <paramref name="v"/> may be an input of operation <paramref name="op"/>: it must still
    /// be valid, and while recording it must come from this thread's tape. Every operation calls it for
    /// each input before it computes anything.
    /// </summary>
    internal static void CheckAlive(Variable? v, string op)
    {
        if (v is null) return;
        if (!GradMode.IsEnabled)
        {
            v.ThrowIfUnusable(op);
            return;
        }
        var tape = Current;
        // A step that ended with a backward pass is recycled before its results are judged, so a result
        // of the old step used in the new one is refused here rather than read after its memory changed.
        tape.BeginRecording();
        v.ThrowIfUnusable(op);
        if (v.Segment is { } s)
        {
            if (!ReferenceEquals(s.Tape, tape))
                throw new NormSharpException($"{op}: the input {v} was recorded on another thread's tape. Run a step's forward and backward pass on one thread, or Detach() the value to use it elsewhere.");
            if (ReferenceEquals(s, tape._currentSegment)) tape._opReadsCurrent = true;
            else tape._opReads.Add(s);
        }
        else if (v.PostAccumulateGradHooks is not null) tape.NoteHookedLeafUse(v);
    }

    /// <summary>Starts a step if the last one finished with a backward pass.</summary>
    private void BeginRecording()
    {
        if (_finished && !_inBackward) Reset();
    }

    /// <summary>
    /// Called by the first tape request of an operation: decides whether the operation continues the
    /// current segment (it reads one of its results) or starts a new one (a new forward pass).
    /// </summary>
    private void OpenOperation()
    {
        if (_opOpen) return;
        BeginRecording();
        _opOpen = true;
        if (_currentSegment is null || !_opReadsCurrent) StartSegment();
        foreach (var s in _opReads) _currentSegment!.DependOn(s);
        _opReads.Clear();
        _opReadsCurrent = false;
    }

    private void CloseOperation()
    {
        _opOpen = false;
        _opReadsCurrent = false;
        _opReads.Clear();
    }

    private void StartSegment()
    {
        if (_currentSegment is not null)
        {
            // The previous segment is now kept alive only by the variables (and later segments) that use it.
            var last = _segments[^1];
            last.Weak = RentWeakReference(_currentSegment);
            last.Strong = null;
            _segments[^1] = last;
            _currentSegment = null;
            long threshold = Math.Max(MinCollectionBytes, 2 * _largestStepBytes);
            if (_arena.BytesInUse - _bytesAfterCollection > threshold) CollectUnreferencedSegments();
        }
        var segment = _freeSegments.Count > 0 ? _freeSegments.Pop() : new Segment(this);
        _segments.Add(new SegmentEntry { Strong = segment, ArenaStart = _arena.Cursor });
        _currentSegment = segment;
    }

    /// <summary>
    /// Finds the segments nobody references any more (forward passes whose results were dropped without a
    /// backward pass) and takes their memory back; throws when what is still referenced exceeds the limit.
    /// </summary>
    private void CollectUnreferencedSegments()
    {
        GC.Collect();
        var keep = new List<(int Start, int End)>();
        var kept = new List<SegmentEntry>();
        for (int i = 0; i < _segments.Count; i++)
        {
            var entry = _segments[i];
            int end = i + 1 < _segments.Count ? _segments[i + 1].ArenaStart : _arena.Cursor;
            if (entry.Get() is null)
            {
                ReturnWeakReference(entry.Weak);
                continue;
            }
            keep.Add((entry.ArenaStart, end));
            kept.Add(entry);
        }
        var starts = _arena.Compact(keep);
        _segments.Clear();
        for (int i = 0; i < kept.Count; i++)
        {
            var e = kept[i];
            e.ArenaStart = starts[i];
            _segments.Add(e);
        }
        if (_segments.Count == 0) _nextSeq = 0;
        _bytesAfterCollection = _arena.BytesInUse;
        if (_arena.BytesInUse > MemoryLimitBytes)
            throw new TapeMemoryException(
                $"The tape holds {_arena.BytesInUse >> 20} MB of results from {_segments.Count} forward passes that no backward pass has used and that are still referenced (limit {MemoryLimitBytes >> 20} MB, Tape.MemoryLimitBytes). " +
                "Compute evaluation under GradMode.NoGrad(), keep values with Item() or Detach() rather than the variables themselves, or call Tape.Current.Reset() between forward passes.");
    }

    private WeakReference<Segment> RentWeakReference(Segment target)
    {
        if (_freeWeakReferences.Count == 0) return new WeakReference<Segment>(target);
        var w = _freeWeakReferences.Pop();
        w.SetTarget(target);
        return w;
    }

    private void ReturnWeakReference(WeakReference<Segment>? w)
    {
        if (w is null) return;
        w.SetTarget(null!);
        _freeWeakReferences.Push(w);
    }

    private void NoteHookedLeafUse(Variable leaf)
    {
        var state = leaf.Leaf!;
        if (ReferenceEquals(state.HookTape, this) && state.HookGeneration == Generation) return;
        state.HookTape = this;
        state.HookGeneration = Generation;
        // The operation about to record will be the leaf's first use in this step: the last node a backward pass reaches.
        state.HookFirstUseSeq = _nextSeq;
        _hookedLeaves.Add(leaf);
    }

    /// <summary>
    /// A tensor for an operation's output or scratch. While recording it comes from the step's arena;
    /// in inference mode it is freshly allocated so it outlives any step.
    /// </summary>
    internal Tensor Allocate(params ReadOnlySpan<int> shape)
    {
        if (_inBackward) return _arena.Rent(shape);
        if (!GradMode.IsEnabled) return Tensor.Zeros(shape);
        OpenOperation();
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
        OpenOperation();
        var v = Variable.Intermediate(value, requiresGrad: false, _currentSegment!);
        CloseOperation();
        return v;
    }

    /// <summary>A node of type <typeparamref name="TNode"/> for the next recorded operation, reused from an earlier step when possible.</summary>
    internal TNode RentNode<TNode>() where TNode : Node, new()
    {
        OpenOperation();
        int i = _nextSeq;
        if (i < _nodePool.Count && _nodePool[i] is TNode reused)
        {
            _nodePool[i] = null;
            return reused;
        }
        return new TNode();
    }

    /// <summary>Records <paramref name="node"/> as producing <paramref name="value"/> and returns the output variable.</summary>
    internal Variable Record(Node node, Tensor value)
    {
        OpenOperation();
        var segment = _currentSegment!;
        var v = Variable.Intermediate(value, requiresGrad: true, segment);
        v.Creator = node;
        node.Output = v;
        node.Seq = _nextSeq++;
        segment.Nodes.Add(node);
        CloseOperation();
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

    /// <summary>Runs the recorded nodes backwards from <paramref name="root"/>.</summary>
    internal void Backward(Variable root, Tensor? gradient, bool retainGraph)
    {
        if (root.Generation != Generation)
            root.ThrowIfUnusable("Backward");
        if (_finished)
            throw new NormSharpException(
                $"Backward: the graph of {root} was already freed by a backward pass (from {_freedBy}). " +
                "Pass retainGraph: true to the earlier Backward call to backpropagate through the same graph again, or run the forward pass again.");
        if (_inBackward) throw new NormSharpException($"Backward: {root} is being backpropagated from inside another backward pass (a gradient hook?); that is not supported.");

        // Intermediate gradients belong to one pass (as in PyTorch; leaves accumulate): only what this
        // pass reaches may run, not what an earlier pass, or one that failed, left marked.
        foreach (var entry in _segments)
            if (entry.Get() is { } s)
                foreach (var node in s.Nodes) node.Output.HasGrad = false;
        var seed = root.Grad ??= _arena.Rent(root.Value.Shape);
        if (gradient is null) seed.Span.Fill(1f);
        else gradient.Span.CopyTo(seed.Span);
        root.HasGrad = true;

        int rootSeq = root.Creator!.Seq;
        int hooked = _hookedLeaves.Count - 1;
        _inBackward = true;
        try
        {
            for (int si = _segments.Count - 1; si >= 0; si--)
            {
                if (_segments[si].Get() is not { } segment) continue;
                var nodes = segment.Nodes;
                for (int i = nodes.Count - 1; i >= 0; i--)
                {
                    var node = nodes[i];
                    if (node.Seq > rootSeq) continue;
                    if (node.Output.HasGrad) node.Backward(this);
                    // Every node using a leaf has a sequence number at or above the leaf's first use: once past it, the gradient is final.
                    while (hooked >= 0 && _hookedLeaves[hooked].Leaf!.HookFirstUseSeq >= node.Seq) RunHooks(_hookedLeaves[hooked--]);
                }
            }
            while (hooked >= 0) RunHooks(_hookedLeaves[hooked--]);
        }
        finally
        {
            _inBackward = false;
        }

        _largestStepBytes = Math.Max(_largestStepBytes, _arena.BytesInUse);
        if (retainGraph) return;
        _finished = true;
        _freedBy = root.ToString();
        // The finished step is this tape's until the next one starts: hold every segment so its nodes can be reused.
        for (int i = 0; i < _segments.Count; i++)
        {
            var e = _segments[i];
            if (e.Strong is null && e.Get() is { } s)
            {
                e.Strong = s;
                _segments[i] = e;
            }
        }
    }

    private static void RunHooks(Variable leaf)
    {
        if (!leaf.HasGrad || leaf.PostAccumulateGradHooks is not { } hooks) return;
        if (hooks.Count == 1)
        {
            hooks[0](leaf);
            return;
        }
        // A copy, so a hook may remove itself.
        foreach (var hook in hooks.ToArray()) hook(leaf);
    }

    /// <summary>A segment of the current step: held strongly while it is current or finished, weakly otherwise, and where its memory starts in the arena.</summary>
    private struct SegmentEntry
    {
        public Segment? Strong;
        public WeakReference<Segment>? Weak;
        public int ArenaStart;

        public readonly Segment? Get() => Strong ?? (Weak is not null && Weak.TryGetTarget(out var s) ? s : null);
    }
}
