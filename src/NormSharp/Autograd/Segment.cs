namespace NormSharp.Autograd;

/// <summary>
/// A stretch of recording on a tape, typically one forward pass: the nodes it recorded, in order, and
/// the earlier segments whose results it read. Every variable it produced points to it, and its tape
/// holds it only weakly once a newer segment has started, so a forward pass whose results nobody keeps
/// can be found (it is collected) and its memory reused even if no backward pass ever runs.
/// </summary>
internal sealed class Segment
{
    internal Segment(Tape tape) => Tape = tape;

    /// <summary>The tape that recorded this segment.</summary>
    public Tape Tape { get; }

    /// <summary>The nodes recorded in this segment, in recording order.</summary>
    public List<Node> Nodes { get; } = new();

    /// <summary>Earlier segments this one read from; holding them keeps what its results depend on alive.</summary>
    public List<Segment> Dependencies { get; } = new();

    /// <summary>Notes that this segment read a result of <paramref name="earlier"/>.</summary>
    public void DependOn(Segment earlier)
    {
        if (ReferenceEquals(earlier, this)) return;
        foreach (var d in Dependencies)
            if (ReferenceEquals(d, earlier)) return;
        Dependencies.Add(earlier);
    }

    /// <summary>Forgets everything so the object can serve a later step.</summary>
    public void Clear()
    {
        Nodes.Clear();
        Dependencies.Clear();
    }
}
