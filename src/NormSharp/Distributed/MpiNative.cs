using System.Runtime.InteropServices;

namespace NormSharp.Distributed;

/// <summary>
/// The few Open MPI entry points NormSharp uses, bound at run time from <c>libmpi.so.40</c> (so nothing
/// native is needed unless distributed training is asked for). In Open MPI, handles such as
/// <c>MPI_COMM_WORLD</c> are the addresses of exported objects and <c>MPI_IN_PLACE</c> is <c>(void*)1</c>.
/// </summary>
internal static unsafe class MpiNative
{
    private const int RtldNow = 2, RtldGlobal = 0x100;

    public static readonly nint InPlace = 1;

    public static nint CommWorld, Float, Double, Byte, OpSum, ErrorsReturn;

    public static delegate* unmanaged<int*, nint*, int> Init;
    public static delegate* unmanaged<int*, int> Initialized;
    public static delegate* unmanaged<int*, int> Finalized;
    public static delegate* unmanaged<int> FinalizeFn;
    public static delegate* unmanaged<nint, int*, int> CommRank;
    public static delegate* unmanaged<nint, int*, int> CommSize;
    public static delegate* unmanaged<nint, nint, int> CommSetErrhandler;
    public static delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce;
    public static delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> Iallreduce;
    public static delegate* unmanaged<nint*, void*, int> Wait;
    public static delegate* unmanaged<nint*, int*, void*, int> Test;
    public static delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public static delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> Allgather;
    public static delegate* unmanaged<nint, int> Barrier;
    public static delegate* unmanaged<nint, int, int> Abort;
    public static delegate* unmanaged<int, byte*, int*, int> ErrorString;

    private static readonly object Gate = new();
    private static bool _loaded;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint DlOpen(string file, int mode);

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    /// <summary>Loads the library once; throws <see cref="MpiUnavailableException"/> with install instructions when it is missing.</summary>
    public static void Load(string? libraryPath)
    {
        lock (Gate)
        {
            if (_loaded) return;
            // Open MPI loads its components as plugins that resolve symbols of libmpi itself, so the
            // library must be loaded with global symbol visibility (NativeLibrary.Load keeps them local).
            nint lib = 0;
            string[] candidates = libraryPath is not null ? [libraryPath] : ["libmpi.so.40", "libmpi.so"];
            foreach (var name in candidates)
            {
                try { lib = DlOpen(name, RtldNow | RtldGlobal); }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { lib = 0; }
                if (lib != 0) break;
            }
            if (lib == 0)
                throw new MpiUnavailableException($"distributed training needs Open MPI, and its library {string.Join(" / ", candidates)} was not found; install it with 'apt-get install openmpi-bin' (Debian/Ubuntu) and start the job with 'mpirun -np N ...'.");
            // The .NET runtime relies on its own SIGSEGV/SIGBUS handlers (null references, stack overflow):
            // Open MPI must not replace them.
            SetEnv("OMPI_MCA_opal_signal", "", 1);
            T Get<T>(string symbol) where T : unmanaged
            {
                if (!NativeLibrary.TryGetExport(lib, symbol, out nint p))
                    throw new MpiUnavailableException($"the MPI library found does not export {symbol}; NormSharp needs Open MPI 4 (libmpi.so.40).");
                return *(T*)&p;
            }
            nint Obj(string symbol) => Get<nint>(symbol);
            CommWorld = Obj("ompi_mpi_comm_world");
            Float = Obj("ompi_mpi_float");
            Double = Obj("ompi_mpi_double");
            Byte = Obj("ompi_mpi_byte");
            OpSum = Obj("ompi_mpi_op_sum");
            ErrorsReturn = Obj("ompi_mpi_errors_return");
            Init = (delegate* unmanaged<int*, nint*, int>)Obj("MPI_Init");
            Initialized = (delegate* unmanaged<int*, int>)Obj("MPI_Initialized");
            Finalized = (delegate* unmanaged<int*, int>)Obj("MPI_Finalized");
            FinalizeFn = (delegate* unmanaged<int>)Obj("MPI_Finalize");
            CommRank = (delegate* unmanaged<nint, int*, int>)Obj("MPI_Comm_rank");
            CommSize = (delegate* unmanaged<nint, int*, int>)Obj("MPI_Comm_size");
            CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)Obj("MPI_Comm_set_errhandler");
            Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Obj("MPI_Allreduce");
            Iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Obj("MPI_Iallreduce");
            Wait = (delegate* unmanaged<nint*, void*, int>)Obj("MPI_Wait");
            Test = (delegate* unmanaged<nint*, int*, void*, int>)Obj("MPI_Test");
            Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Obj("MPI_Bcast");
            Allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Obj("MPI_Allgather");
            Barrier = (delegate* unmanaged<nint, int>)Obj("MPI_Barrier");
            Abort = (delegate* unmanaged<nint, int, int>)Obj("MPI_Abort");
            ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Obj("MPI_Error_string");
            _loaded = true;
        }
    }

    /// <summary>Throws <see cref="MpiException"/> with MPI's description when <paramref name="code"/> is not MPI_SUCCESS.</summary>
    public static void Check(int code, string call)
    {
        if (code == 0) return;
        var buffer = stackalloc byte[512];
        int length = 0;
        string text = ErrorString(code, buffer, &length) == 0 ? System.Text.Encoding.ASCII.GetString(buffer, Math.Clamp(length, 0, 512)) : "(no description)";
        throw new MpiException(call, code, text);
    }
}
