using System.Security.Cryptography;
using System.Text;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Distributed;

/// <summary>
/// What the ranks of a data-parallel fit agree on before the first step: the same model structure and run
/// identity, the same initial weights (unless told otherwise), then rank 0's weights, buffers and optimizer
/// state everywhere.
/// </summary>
internal static class DataParallelStart
{
    public static void Synchronize(DataParallel dp, Module model, Optimizer optimizer)
    {
        var comm = dp.Communicator;
        var state = model.StateDict();
        var optimizerState = optimizer.StateTensors();
        var structure = new StringBuilder();
        foreach (var (name, t) in state) structure.Append(name).Append(ShapeMismatchException.Format(t.Shape)).Append(';');
        foreach (var (name, t) in optimizerState) structure.Append("optim.").Append(name).Append(ShapeMismatchException.Format(t.Shape)).Append(';');
        structure.Append(optimizer.GetType().Name);
        foreach (var g in optimizer.Groups) structure.Append(FormattableString.Invariant($";lr={g.InitialLearningRate:R},wd={g.WeightDecay:R}"));
        ulong structureHash = Hash(Encoding.UTF8.GetBytes(structure.ToString()));
        ulong identityHash = Hash(Encoding.UTF8.GetBytes(dp.RunIdentity ?? ""));
        using var weights = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (_, t) in state) weights.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Span));
        ulong weightHash = BitConverter.ToUInt64(weights.GetHashAndReset(), 0);

        // Each 64-bit hash travels as two exact 32-bit halves in doubles.
        const int Fields = 6;
        Span<double> mine = stackalloc double[Fields];
        Split(structureHash, mine[0..2]);
        Split(identityHash, mine[2..4]);
        Split(weightHash, mine[4..6]);
        var all = new double[Fields * dp.Size];
        comm.AllGather(mine, all);
        var problems = new List<string>();
        for (int r = 1; r < dp.Size; r++)
        {
            var other = all.AsSpan(r * Fields, Fields);
            var root = all.AsSpan(0, Fields);
            if (!other[0..2].SequenceEqual(root[0..2])) problems.Add($"rank {r} builds a different model or optimizer (parameter names, shapes or groups) than rank 0");
            else if (!other[2..4].SequenceEqual(root[2..4])) problems.Add($"rank {r} was started with a different run (configuration or data) than rank 0");
            else if (dp.CheckInitialWeights && !other[4..6].SequenceEqual(root[4..6])) problems.Add($"rank {r}'s initial weights differ from rank 0's (another seed, or another checkpoint)");
        }
        if (problems.Count > 0)
            throw new NormSharpException("data-parallel start-up: " + string.Join("; ", problems) + ". Start every rank with the same command and data.");

        foreach (var (_, t) in state) comm.Broadcast(t.Span, root: 0);
        foreach (var (_, t) in optimizerState) comm.Broadcast(t.Span, root: 0);
    }

    private static ulong Hash(byte[] bytes) => BitConverter.ToUInt64(SHA256.HashData(bytes), 0);

    private static void Split(ulong h, Span<double> two)
    {
        two[0] = h >> 32;
        two[1] = h & 0xFFFFFFFFUL;
    }
}
