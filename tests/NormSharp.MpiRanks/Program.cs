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

static void Expect(bool condition, string what)
{
    if (!condition) throw new InvalidOperationException("failed: " + what);
}
