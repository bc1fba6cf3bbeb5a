using System.Text.Json;
using NormSharp.Autograd;
using NormSharp.Distributed;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Training;

/// <summary>
/// What every trainer has, whatever its batches are: the model, the optimizer, the learning-rate schedule,
/// the evaluation, the parts of the loop (<see cref="ITrainerCallback"/>, <see cref="ICheckpointState"/>),
/// and complete checkpoints of all of it. <see cref="Trainer{TBatch}"/> adds the loss function and the loop.
/// </summary>
public abstract class Trainer
{
    /// <summary>The <c>format</c> metadata of checkpoints this trainer writes and reads.</summary>
    public const string CheckpointFormat = "normsharp-checkpoint-3";

    /// <summary>The metadata key of <see cref="RunIdentity"/> in checkpoints.</summary>
    public const string RunIdentityKey = "run_identity";

    private readonly List<object> _parts = [];
    private ITrainerCallback[] _callbacks = [];
    private IGradientReadyCallback[] _gradientCallbacks = [];
    private IFaultHandler[] _faultHandlers = [];
    private ICheckpointState[] _states = [];
    private string? _pendingSourceState;
    private bool _loadedMidEpoch;
    private readonly List<HookHandle> _gradientHooks = [];
    private StepContext? _hookStep;

    /// <summary>Sets up training of <paramref name="model"/> with <paramref name="optimizer"/>.</summary>
    protected Trainer(Module model, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        Model = model;
        Optimizer = optimizer;
        Gradients = new GradientNorms(model);
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }

    /// <summary>The optimizer updating it.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Step, epoch and loss counters.</summary>
    public TrainerState State { get; } = new();

    /// <summary>
    /// The learning rate of every parameter group at step s (0-based) is its initial rate ×
    /// <see cref="TrainerState.LearningRateScale"/> × <c>Schedule.Factor(s)</c>. Constant by default.
    /// </summary>
    public LearningRateSchedule Schedule
    {
        get;
        set => field = value ?? throw new ArgumentNullException(nameof(value));
    } = LearningRateSchedule.Constant;

    /// <summary>Scores the model on held-out data (in evaluation mode, without recording); null for none.</summary>
    public Func<Module, EvaluationResult>? Evaluator { get; set; }

    /// <summary>
    /// With an <see cref="Evaluator"/>: evaluate every this many steps (0: only at the end of each epoch;
    /// the end of an epoch is always evaluated).
    /// </summary>
    public long EvaluateEvery
    {
        get;
        set => field = value >= 0 ? value : throw new InvalidValueException(nameof(EvaluateEvery), $"Trainer: EvaluateEvery must be >= 0, got {value}.");
    }

    /// <summary>Entries written as they are into every checkpoint (e.g. the configuration a run was built from).</summary>
    public IDictionary<string, string> CheckpointMetadata { get; } = new Dictionary<string, string>();

    /// <summary>
    /// A fingerprint of what determines this run (its configuration and its data), or null for none. It is written
    /// into every checkpoint, and <see cref="LoadCheckpoint(Checkpoint, string)"/> refuses a checkpoint that carries
    /// another (or none): a checkpoint copied from another run must never continue this one.
    /// </summary>
    public string? RunIdentity { get; set; }

    /// <summary>The parts added, in order.</summary>
    public IReadOnlyList<object> Parts => _parts;

    /// <summary>Gradient norms of the current step, per layer and global.</summary>
    public GradientNorms Gradients { get; }

    /// <summary>Epochs of the fit in progress (0 outside <c>Fit</c>).</summary>
    public int Epochs { get; protected set; }

    /// <summary>Steps the fit in progress takes in all, or null when the batch source cannot tell.</summary>
    public long? TotalSteps { get; protected set; }

    /// <summary>Why the fit in progress will stop, or null while it goes on.</summary>
    public string? StopReason { get; private set; }

    /// <summary>True when a part stopped the fit for a numerical fault or an exploding loss.</summary>
    public bool Diverged { get; private set; }

    /// <summary>
    /// Data-parallel training across ranks, or null (the default) for one process. Set before
    /// <c>Fit</c>; every rank then needs the same model, data, seed and settings (checked at start-up).
    /// </summary>
    public DataParallel? DataParallel
    {
        get;
        set
        {
            if (Epochs > 0) throw new InvalidOperationException("Trainer: DataParallel cannot change during a fit.");
            field = value;
        }
    }

    /// <summary>
    /// True on the process that writes the run's files: the only one without <see cref="DataParallel"/>, rank 0
    /// with it. Parts that write (metrics, checkpoints, progress) should be added on the primary only.
    /// </summary>
    public bool IsPrimary => DataParallel is not { Rank: not 0 };

    /// <summary>Sums gradients over ranks during data-parallel fits.</summary>
    private protected GradientReducer? Reducer { get; private set; }

    /// <summary>The batch source of the fit in progress, when it can save its position.</summary>
    protected ICheckpointState? ResumableSource { get; private set; }

    /// <summary>
    /// Adds a part: an <see cref="ITrainerCallback"/>, an <see cref="IGradientReadyCallback"/>, an
    /// <see cref="ICheckpointState"/>, or several of these. Parts run in the order they were added.
    /// </summary>
    public Trainer Add(object part)
    {
        ArgumentNullException.ThrowIfNull(part);
        if (part is not (ITrainerCallback or IGradientReadyCallback or ICheckpointState or IFaultHandler))
            throw new InvalidValueException(nameof(part), $"Trainer.Add: {part.GetType().Name} is neither an ITrainerCallback, an IGradientReadyCallback, an ICheckpointState nor an IFaultHandler.");
        if (part is ICheckpointState s && (s.StateKey is null || IsReservedKey(s.StateKey) || _states.Any(o => o.StateKey == s.StateKey)))
            throw new InvalidValueException(nameof(part), $"Trainer.Add: the checkpoint key '{s.StateKey}' of {part.GetType().Name} is reserved or already used by another part.");
        if (_parts.Any(p => ReferenceEquals(p, part)))
            throw new InvalidValueException(nameof(part), $"Trainer.Add: this {part.GetType().Name} was already added.");
        _parts.Add(part);
        _callbacks = _parts.OfType<ITrainerCallback>().ToArray();
        _gradientCallbacks = _parts.OfType<IGradientReadyCallback>().ToArray();
        _states = _parts.OfType<ICheckpointState>().ToArray();
        _faultHandlers = _parts.OfType<IFaultHandler>().ToArray();
        return this;
    }

    /// <summary>Ends the fit after the current step; the first reason given is kept.</summary>
    /// <param name="reason">Why, in words (stored in the result).</param>
    /// <param name="diverged">True for a numerical fault or an exploding loss.</param>
    public void RequestStop(string reason, bool diverged)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (StopReason is not null) return;
        StopReason = reason;
        Diverged = diverged;
    }

    /// <summary>
    /// Reports a numerical fault in <paramref name="step"/> (a non-finite loss or gradient, an exploding loss). Each
    /// <see cref="IFaultHandler"/> part is offered it in turn; when none takes it, the run stops as diverged.
    /// Call it from <see cref="ITrainerCallback.OnLoss"/> or <see cref="ITrainerCallback.OnBackward"/>, where the
    /// step can still be abandoned.
    /// </summary>
    public void ReportFault(StepContext step, TrainingFault fault)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(fault);
        foreach (var h in _faultHandlers)
            if (h.Handle(step, fault)) return;
        RequestStop(fault.Message, diverged: true);
    }

    /// <summary>Tells every part something worth telling the user.</summary>
    public void Notify(string message)
    {
        foreach (var c in _callbacks) c.OnNotice(this, message);
    }

    /// <summary>The complete state of the run: model, optimizer, counters, batch position and every part's state.</summary>
    public Checkpoint CreateCheckpoint()
    {
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, t) in Model.StateDict()) tensors.Add(("model." + name, t));
        foreach (var (name, t) in Optimizer.StateTensors()) tensors.Add(("optim." + name, t));
        var meta = new Dictionary<string, string>(CheckpointMetadata) { ["format"] = CheckpointFormat };
        if (RunIdentity is { } identity) meta[RunIdentityKey] = identity;
        State.WriteTo(meta);
        meta["optimizer"] = JsonSerializer.Serialize(Optimizer.StateScalars());
        if (ResumableSource is { } source) meta[source.StateKey] = source.SaveState();
        else if (_pendingSourceState is { } pending) meta["loader"] = pending;
        foreach (var s in _states) meta[s.StateKey] = s.SaveState();
        return new Checkpoint { Tensors = tensors, Metadata = meta };
    }

    /// <summary>Reads and verifies the checkpoint at <paramref name="path"/> and continues from it.</summary>
    public void LoadCheckpoint(string path) => LoadCheckpoint(Checkpoint.Load(path), path);

    /// <summary>
    /// Continues from <paramref name="checkpoint"/> (read from <paramref name="source"/>, named in errors). Its format,
    /// run identity and every tensor's shape are checked before anything is changed, so a refused checkpoint leaves
    /// the trainer as it was.
    /// </summary>
    public void LoadCheckpoint(Checkpoint checkpoint, string source)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string format = checkpoint.Require("format", source);
        if (format != CheckpointFormat)
            throw new CorruptFileException(source, $"the checkpoint's format is '{format}', but this version reads '{CheckpointFormat}'.");
        if (RunIdentity is { } identity)
        {
            string? stored = checkpoint.Metadata.TryGetValue(RunIdentityKey, out var id) ? id : null;
            if (stored != identity)
                throw new ForeignCheckpointException(source, stored is null
                    ? $"the checkpoint carries no run identity, but this run is {Short(identity)}; it was not written by this run."
                    : $"the checkpoint belongs to run {Short(stored)}, but this run is {Short(identity)} (another configuration or other data).");
        }
        var modelTensors = Model.StateDict().Select(e => (e.Name, Target: e.Tensor, Stored: checkpoint.RequireTensor("model." + e.Name, source))).ToList();
        foreach (var (name, target, stored) in modelTensors)
            if (!stored.Shape.SequenceEqual(target.Shape))
                throw new CorruptFileException(source, $"tensor model.{name} has shape {ShapeMismatchException.Format(stored.Shape)} but this model needs {ShapeMismatchException.Format(target.Shape)} (a checkpoint from another architecture?).");
        var optimizerTensors = Optimizer.StateTensors().Select(e => (e.Name, Target: e.Tensor, Stored: checkpoint.RequireTensor("optim." + e.Name, source))).ToList();
        foreach (var (name, target, stored) in optimizerTensors)
            if (!stored.Shape.SequenceEqual(target.Shape))
                throw new CorruptFileException(source, $"optimizer tensor {name} has shape {ShapeMismatchException.Format(stored.Shape)}, expected {ShapeMismatchException.Format(target.Shape)}.");
        var scalars = checkpoint.RequireJson<Dictionary<string, long>>("optimizer", source);
        var counters = new TrainerState();
        counters.ReadFrom(checkpoint, source);
        string? position = checkpoint.Metadata.TryGetValue(ResumableSource?.StateKey ?? "loader", out var p) ? p : null;
        if (ResumableSource is { } active && position is null)
            throw new CorruptFileException(source, $"the checkpoint lacks the metadata entry '{active.StateKey}' (the batch position).");
        var partStates = _states.Select(s => checkpoint.Require(s.StateKey, source)).ToArray();

        foreach (var (_, target, stored) in modelTensors) target.CopyFrom(stored);
        foreach (var (_, target, stored) in optimizerTensors) target.CopyFrom(stored);
        Optimizer.LoadStateScalars(scalars);
        State.CopyFrom(counters);
        if (ResumableSource is { } resumable) resumable.LoadState(position!);
        else _pendingSourceState = position;
        _loadedMidEpoch = State.BatchesIntoEpoch > 0;
        for (int i = 0; i < _states.Length; i++) _states[i].LoadState(partStates[i]);
    }

    private static string Short(string identity) => identity.Length > 12 ? identity[..12] + "…" : identity;

    /// <summary>
    /// Starts a fit over <paramref name="source"/>: a resumable one gets the position of a checkpoint loaded
    /// before; for one that cannot seek, returns the number of batches of the interrupted epoch to skip.
    /// </summary>
    protected int BeginFit(object source, int epochs, int? batchesPerEpoch)
    {
        if (epochs < 0) throw new InvalidValueException(nameof(epochs), $"Trainer.Fit: epochs must be >= 0, got {epochs}.");
        Epochs = epochs;
        TotalSteps = batchesPerEpoch is { } b ? (long)b * epochs : null;
        StopReason = null;
        Diverged = false;
        ResumableSource = source as ICheckpointState;
        int skip = 0;
        if (_pendingSourceState is { } pending && ResumableSource is { } r) r.LoadState(pending);
        else if (_loadedMidEpoch && ResumableSource is null) skip = State.BatchesIntoEpoch;
        _pendingSourceState = null;
        _loadedMidEpoch = false;
        if (DataParallel is { } dp)
        {
            DataParallelStart.Synchronize(dp, Model, Optimizer);
            foreach (var (_, m) in Model.NamedModules())
                if (m is SyncBatchNorm sync) sync.Communicator ??= dp.Communicator;
            Reducer = new GradientReducer(dp, Optimizer.Parameters);
        }
        foreach (var c in _callbacks) c.OnFitStart(this);
        if (_gradientCallbacks.Length > 0 || Reducer is not null)
            foreach (var p in Optimizer.Parameters) _gradientHooks.Add(p.RegisterPostAccumulateGradHook(OnGradientFinal));
        if (skip > 0)
            Notify($"the batch source cannot restore its position: the {skip} batches of the interrupted epoch that the checkpoint had used are drawn again and skipped (an exact resume when the source yields the same batches every time)");
        return skip;
    }

    /// <summary>Ends a fit: tells every part.</summary>
    protected void EndFit(FitResult result)
    {
        foreach (var h in _gradientHooks) h.Dispose();
        _gradientHooks.Clear();
        Reducer = null;
        foreach (var c in _callbacks) c.OnFitEnd(this, result);
        ResumableSource = null;
        Epochs = 0;
    }

    /// <summary>Ends a fit that failed with an error: removes its gradient hooks (the parts are not told; the error is the caller's).</summary>
    protected void AbortFit()
    {
        foreach (var h in _gradientHooks) h.Dispose();
        _gradientHooks.Clear();
        ResumableSource = null;
        Epochs = 0;
    }

    /// <summary>Sets every group's learning rate for the step about to run; returns the first group's.</summary>
    protected double ApplyLearningRates()
    {
        double factor = Schedule.Factor(State.Step);
        foreach (var g in Optimizer.Groups) g.LearningRate = g.InitialLearningRate * State.LearningRateScale * factor;
        return Optimizer.Groups[0].LearningRate;
    }

    /// <summary>Runs one moment of the loop on every callback; stops early once a part abandons the step.</summary>
    protected void RunStepStart(StepContext step)
    {
        foreach (var c in _callbacks) c.OnStepStart(step);
    }

    /// <summary>Runs <see cref="ITrainerCallback.OnLoss"/>.</summary>
    protected void RunLoss(StepContext step)
    {
        foreach (var c in _callbacks)
        {
            c.OnLoss(step);
            if (step.Skipped || StopReason is not null) return;
        }
    }

    /// <summary>
    /// Runs the backward pass of <paramref name="loss"/>, reporting each parameter's gradient as soon as it is
    /// final; with <paramref name="reduce"/> the gradients also go to the data-parallel reducer as they become final.
    /// </summary>
    protected void Backpropagate(StepContext step, Autograd.Variable loss, bool reduce = false, float seed = 1f)
    {
        _hookStep = step;
        _reduceInHooks = reduce;
        try
        {
            if (seed == 1f) loss.Backward();
            else
            {
                // The gradient of a weighted part of the loss: d(seed·loss) (exact scaling for power-of-two shares).
                if (_seed is null || !_seed.HasShape(loss.Shape)) _seed = Tensor.Zeros(loss.Shape);
                _seed.Span.Fill(seed);
                loss.Backward(_seed);
            }
        }
        finally
        {
            _hookStep = null;
            _reduceInHooks = false;
        }
    }

    private bool _reduceInHooks;
    private Tensor? _seed;

    private void OnGradientFinal(Autograd.Variable parameter)
    {
        // Only the trainer's own backward passes are reported (not, say, a part's diagnostic pass).
        if (_hookStep is not { } step) return;
        if (_reduceInHooks && DataParallel!.OverlapCommunication) Reducer!.OnGradientReady(parameter);
        foreach (var g in _gradientCallbacks) g.OnGradientReady(step, parameter);
    }

    /// <summary>Runs <see cref="ITrainerCallback.OnBackward"/> after the backward pass.</summary>
    protected void RunBackward(StepContext step)
    {
        Gradients.Invalidate();
        foreach (var c in _callbacks)
        {
            c.OnBackward(step);
            if (step.Skipped || StopReason is not null) return;
        }
    }

    /// <summary>Runs <see cref="ITrainerCallback.OnStepEnd"/>.</summary>
    protected void RunStepEnd(StepContext step)
    {
        foreach (var c in _callbacks) c.OnStepEnd(step);
    }

    /// <summary>Closes an epoch: its mean loss, the evaluation, then <see cref="ITrainerCallback.OnEpochEnd"/>.</summary>
    protected void EndEpoch()
    {
        double mean = State.EpochLossSoFar;
        State.LastEpochLoss = mean;
        State.EpochLossSum = 0;
        State.EpochSamples = 0;
        State.Epoch++;
        State.BatchesIntoEpoch = 0;
        var evaluation = Evaluator is { } evaluate ? evaluate(Model) : (EvaluationResult?)null;
        var ctx = new EpochContext(this, State.Epoch - 1, State.Step, mean, Optimizer.Groups[0].LearningRate, evaluation);
        foreach (var c in _callbacks) c.OnEpochEnd(ctx);
    }

    private static bool IsReservedKey(string key) =>
        key is "format" or "step" or "epoch" or "epoch_batches" or "epoch_loss_sum" or "epoch_loss_count" or "last_epoch_loss" or "lr_scale" or "optimizer" or "loader"
            or Checkpoint.ChecksumKey or RunIdentityKey or CheckpointManager.HealthKey;
}
