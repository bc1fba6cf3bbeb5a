using NormSharp.Distributed;

// The program each rank of the MPI tests runs (started by mpirun from the test suite): one scenario per
// run, named by the first argument. It prints one line per rank and exits 0 when the scenario holds.
string scenario = args.Length > 0 ? args[0] : "collectives";
using var comm = MpiCommunicator.Initialize();
try
{
    switch (scenario)
    {
        case "collectives":
            Collectives(comm);
            break;
        case "sync-batchnorm":
            SyncBatchNormAgreesWithOneProcess(comm);
            break;
        case "null-reference":
            // .NET must still turn a null dereference into an exception after MPI_Init.
            string? s = args.Length > 5 ? args[0] : null;
            try
            {
                _ = s!.Length;
                throw new InvalidOperationException("no NullReferenceException");
            }
            catch (NullReferenceException) { }
            comm.Barrier();
            break;
        case "raise-on-rank":
            int failing = int.Parse(args[1]);
            if (comm.Rank == failing) throw new InvalidOperationException($"injected fault on rank {failing}");
            comm.Barrier(); // the others wait here for a rank that will never come
            break;
        case "die-on-rank":
            int dying = int.Parse(args[1]);
            if (comm.Rank == dying) System.Diagnostics.Process.GetCurrentProcess().Kill();
            var data = new float[16];
            comm.AllReduceSum(data);
            comm.Barrier();
            break;
        default:
            throw new ArgumentException($"unknown scenario '{scenario}'");
    }
    Console.WriteLine($"rank {comm.Rank}/{comm.Size}: ok");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"error: rank {comm.Rank}: {e.Message}");
    comm.Abort(1);
    return 1;
}

static void Collectives(ICommunicator comm)
{
    int r = comm.Rank, n = comm.Size;
    var sum = Enumerable.Range(0, 1000).Select(i => (float)(i + r)).ToArray();
    comm.AllReduceSum(sum);
    for (int i = 0; i < sum.Length; i++)
        Expect(sum[i] == n * i + n * (n - 1) / 2, $"allreduce element {i} is {sum[i]}");

    var async = new float[1 << 16];
    Array.Fill(async, r + 1);
    var request = comm.StartAllReduceSum(async);
    request.Wait();
    Expect(request.Test(), "a completed request tests complete");
    Expect(async.All(v => v == n * (n + 1) / 2), "iallreduce");

    var root = new float[5];
    if (r == n - 1) root = [1, 2, 3, 4, 5];
    comm.Broadcast(root, n - 1);
    Expect(root.SequenceEqual(new float[] { 1, 2, 3, 4, 5 }), "broadcast of floats");

    var bytes = new byte[3];
    if (r == 0) bytes = [7, 8, 9];
    comm.Broadcast(bytes, 0);
    Expect(bytes.SequenceEqual(new byte[] { 7, 8, 9 }), "broadcast of bytes");

    var all = new float[2 * n];
    comm.AllGather([r, 10 * r], all);
    for (int k = 0; k < n; k++) Expect(all[2 * k] == k && all[2 * k + 1] == 10 * k, "allgather in rank order");

    comm.Barrier();
}

// Each rank normalizes its quarter of a batch of 16 with statistics over all ranks; one process normalizing the
// whole batch must give the same outputs, input gradients and (summed over ranks) parameter gradients.
static void SyncBatchNormAgreesWithOneProcess(ICommunicator comm)
{
    const int Batch = 16, Channels = 3, Length = 2;
    var rng = new NormSharp.Tensors.Rng(11);
    var all = NormSharp.Tensors.Tensor.Zeros(Batch, Channels, Length);
    rng.FillUniform(all.Span, -1, 1);
    for (int i = 0; i < all.Length; i++) all[i] += 100f; // a large mean: the statistics must not cancel
    var upstream = NormSharp.Tensors.Tensor.Zeros(Batch, Channels, Length);
    rng.FillUniform(upstream.Span, -1, 1);
    int share = Batch / comm.Size, start = comm.Rank * share;

    (float[] Y, float[] Dx, float[] Dw, float[] Db, float[] Running) Run(NormSharp.Tensors.Tensor x, NormSharp.Tensors.Tensor dy, ICommunicator? c)
    {
        var layer = new NormSharp.Layers.SyncBatchNorm(Channels) { Communicator = c };
        layer.Weight!.Value.Span.Fill(1.5f);
        var input = NormSharp.Autograd.Variable.Parameter(x.Clone());
        var y = layer.Forward(input);
        y.Backward(dy);
        return (y.Value.ToArray(), input.Grad!.ToArray(), layer.Weight.Grad!.ToArray(), layer.Bias!.Grad!.ToArray(), layer.RunningVar.ToArray());
    }
    var whole = Run(all, upstream, null);
    var mine = Run(all.Narrow(start, share).Clone(), upstream.Narrow(start, share).Clone(), comm);
    int rowFloats = Channels * Length;
    Close(whole.Y.AsSpan(start * rowFloats, share * rowFloats), mine.Y, "outputs");
    Close(whole.Dx.AsSpan(start * rowFloats, share * rowFloats), mine.Dx, "input gradients");
    Close(whole.Running, mine.Running, "running variance");
    comm.AllReduceSum(mine.Dw);
    comm.AllReduceSum(mine.Db);
    Close(whole.Dw, mine.Dw, "weight gradients summed over ranks");
    Close(whole.Db, mine.Db, "bias gradients summed over ranks");
}

static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
{
    Expect(expected.Length == actual.Length, what + ": lengths");
    for (int i = 0; i < expected.Length; i++)
        Expect(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]), $"{what}[{i}]: {actual[i]} vs {expected[i]}");
}

static void Expect(bool condition, string what)
{
    if (!condition) throw new InvalidOperationException("failed: " + what);
}
