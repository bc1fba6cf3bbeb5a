namespace NormSharp.Training;

/// <summary>A checkpoint file in a run folder, as <see cref="CheckpointManager"/> lists it.</summary>
/// <param name="Path">The file.</param>
/// <param name="Step">The step it holds (from its name).</param>
/// <param name="Good">
/// True when it was written from finite weights with a smoothed loss no worse than twice the best so far (a
/// state worth rolling back to), false when not, null when its header cannot be read (a damaged file).
/// </param>
public sealed record CheckpointFile(string Path, long Step, bool? Good);
