using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Data.Text;

/// <summary>
/// Cuts a token sequence into windows of <see cref="Context"/> inputs, each with the next token as its
/// target at every position, and hands them out in batches. Training order: each epoch starts the cut at
/// an offset drawn from the seed and the epoch (so epochs see different windows) and shuffles the
/// windows; evaluation order (<c>shuffle: false</c>): consecutive windows from the start. Equal seeds
/// give equal batches on every machine; <see cref="GetState"/>/<see cref="SetState"/> let a resumed run
/// continue with exactly the batches it would have seen.
/// </summary>
/// <remarks>
/// The loader alternates between two pairs of buffers, so the batch of the previous <see cref="Next"/>
/// call stays intact while the next one is filled (a step may fetch ahead); older batches are reused.
/// It is a resumable batch source for the <see cref="Training.Trainer{TBatch}"/>.
/// </remarks>
public sealed class CharSequenceLoader : Training.IBatchSource<CharBatch>, Training.ICheckpointState
{
    private readonly int[] _tokens;
    private readonly ulong _seed;
    private readonly bool _shuffle;
    private readonly int[][] _inputs;
    private readonly int[][] _targets;
    private int[] _order = [];
    private int _orderEpoch = -1;
    private int _offset;
    private int _flip;

    /// <summary>Creates the loader over <paramref name="tokens"/>.</summary>
    public CharSequenceLoader(int[] tokens, int context, int batchSize, ulong seed, bool shuffle = true)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (context <= 0) throw new InvalidValueException(nameof(context), $"CharSequenceLoader: the context must be positive, got {context}.");
        if (batchSize <= 0) throw new InvalidValueException(nameof(batchSize), $"CharSequenceLoader: the batch size must be positive, got {batchSize}.");
        if (tokens.Length < context + 1)
            throw new InvalidValueException(nameof(tokens), $"CharSequenceLoader: {tokens.Length} tokens are fewer than one window of {context} inputs plus the token to predict.");
        _tokens = tokens;
        Context = context;
        BatchSize = batchSize;
        _seed = seed;
        _shuffle = shuffle;
        _inputs = [new int[batchSize * context], new int[batchSize * context]];
        _targets = [new int[batchSize * context], new int[batchSize * context]];
        Inputs = _inputs[0];
        Targets = _targets[0];
    }

    /// <summary>Tokens per window.</summary>
    public int Context { get; }

    /// <summary>Windows per full batch.</summary>
    public int BatchSize { get; }

    /// <summary>Windows per epoch (the last partial window is dropped).</summary>
    public int WindowsPerEpoch => (_tokens.Length - 1 - (_shuffle ? Context - 1 : 0)) / Context;

    /// <summary>Batches per epoch (the last one may be smaller).</summary>
    public int BatchesPerEpoch => (WindowsPerEpoch + BatchSize - 1) / BatchSize;

    /// <summary>0-based epoch.</summary>
    public int Epoch { get; private set; }

    /// <summary>Windows of this epoch already handed out.</summary>
    public int Position { get; private set; }

    /// <summary>Windows in the current batch.</summary>
    public int Count { get; private set; }

    /// <summary>The current batch's inputs, row-major [Count, Context] (the first Count·Context entries).</summary>
    public int[] Inputs { get; private set; }

    /// <summary>The current batch's targets: the token following each input position.</summary>
    public int[] Targets { get; private set; }

    /// <summary>Fills the next batch; false when the epoch is over (the next call starts the next epoch).</summary>
    public bool Next()
    {
        int windows = WindowsPerEpoch;
        if (Position >= windows)
        {
            Epoch++;
            Position = 0;
            return false;
        }
        EnsureOrder();
        _flip ^= 1;
        Inputs = _inputs[_flip];
        Targets = _targets[_flip];
        int count = Math.Min(BatchSize, windows - Position);
        for (int b = 0; b < count; b++)
        {
            int start = _offset + _order[Position + b] * Context;
            Array.Copy(_tokens, start, Inputs, b * Context, Context);
            Array.Copy(_tokens, start + 1, Targets, b * Context, Context);
        }
        Count = count;
        Position += count;
        return true;
    }

    int? Training.IBatchSource<CharBatch>.BatchesPerEpoch => BatchesPerEpoch;

    /// <inheritdoc />
    public bool TryGetNext(out CharBatch batch)
    {
        bool more = Next();
        batch = more ? new CharBatch(Inputs, Targets, Count, Context) : default;
        return more;
    }

    /// <summary>Checkpoint key of the loader's position (the same as <see cref="BatchLoader"/>'s).</summary>
    public string StateKey => "loader";

    /// <inheritdoc />
    public string SaveState() => System.Text.Json.JsonSerializer.Serialize(GetState());

    /// <inheritdoc />
    public void LoadState(string state) => SetState(LoaderState.Parse(state, "CharSequenceLoader"));

    /// <summary>Where the loader stands.</summary>
    public LoaderState GetState() => new(Epoch, Position);

    /// <summary>Continues from <paramref name="state"/>.</summary>
    public void SetState(LoaderState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Epoch < 0 || state.Position < 0 || state.Position > WindowsPerEpoch)
            throw new InvalidValueException(nameof(state), $"CharSequenceLoader: state epoch {state.Epoch}, position {state.Position} does not fit {WindowsPerEpoch} windows per epoch.");
        Epoch = state.Epoch;
        Position = state.Position;
        _orderEpoch = -1;
    }

    private void EnsureOrder()
    {
        if (_orderEpoch == Epoch) return;
        int windows = WindowsPerEpoch;
        if (_order.Length != windows) _order = new int[windows];
        for (int i = 0; i < windows; i++) _order[i] = i;
        if (_shuffle)
        {
            var rng = new Rng(_seed * 0x9E3779B97F4A7C15UL + (ulong)Epoch + 1);
            _offset = rng.NextInt(Context);
            rng.Shuffle(_order.AsSpan());
        }
        else _offset = 0;
        _orderEpoch = Epoch;
    }
}
